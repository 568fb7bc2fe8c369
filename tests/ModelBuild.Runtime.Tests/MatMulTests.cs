using ModelBuild.Runtime.Kernels;
using ModelBuild.Runtime.Weights;

namespace ModelBuild.Runtime.Tests;

public unsafe class MatMulTests
{
    private static float[] Random(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(37, 13, 1)]
    [InlineData(64, 96, 5)]
    [InlineData(257, 33, 3)]
    public void Matches_a_naive_triple_loop_with_bias(int rows, int cols, int tokens)
    {
        var w = Random(rows * cols, rows);
        var x = Random(tokens * cols, cols);
        var bias = Random(rows, 7);
        var y = new float[tokens * rows];
        fixed (float* wp = w)
            MatMul.Multiply(new DenseMatrix((byte*)wp, rows, cols, DenseElement.F32), x, y, tokens, bias);
        for (int t = 0; t < tokens; t++)
            for (int r = 0; r < rows; r++)
            {
                double s = bias[r];
                for (int c = 0; c < cols; c++) s += (double)w[r * cols + c] * x[t * cols + c];
                Assert.Equal(s, y[t * rows + r], 3);
            }
    }

    [Theory]
    [InlineData(4)]
    [InlineData(8)]
    public void Group_quantized_rows_dequantize_as_q_minus_zero_times_scale(int bits)
    {
        int rows = 3, cols = 64, group = 32, groups = cols / group;
        var rng = new Random(bits);
        var codes = Enumerable.Range(0, rows * cols).Select(_ => (byte)rng.Next(1 << bits)).ToArray();
        var scales = Enumerable.Range(0, rows * groups).Select(i => (Half)(0.01f * (i + 1))).ToArray();
        var zeros = Enumerable.Range(0, rows * groups).Select(i => (byte)(i % (1 << bits))).ToArray();
        byte[] packed = bits == 8 ? codes : Enumerable.Range(0, codes.Length / 2).Select(i => (byte)(codes[2 * i] | codes[2 * i + 1] << 4)).ToArray();
        fixed (byte* q = packed)
        fixed (Half* s = scales)
        fixed (byte* z = zeros)
        {
            var m = new GroupQuantizedMatrix(q, s, z, rows, cols, bits, group);
            var row = new float[cols];
            for (int r = 0; r < rows; r++)
            {
                m.DequantizeRow(r, row);
                for (int c = 0; c < cols; c++)
                {
                    int g = r * groups + c / group;
                    Assert.Equal((codes[r * cols + c] - zeros[g]) * (float)scales[g], row[c]);
                }
            }
        }
    }
}

public unsafe class OutlierRuntimeTests
{
    [Fact]
    public void Outliers_replace_grid_values_in_their_row()
    {
        var codes = new byte[] { 0x11, 0x11 }; // 1 row x 4 cols, all code 1
        var scales = new[] { (Half)0.5f };
        var zeros = new byte[] { 0 };
        var rowStart = new[] { 0, 1 };
        var cols = new[] { 2 };
        var values = new[] { (Half)7.25f };
        fixed (byte* q = codes) fixed (Half* s = scales) fixed (byte* z = zeros) fixed (int* r = rowStart) fixed (int* c = cols) fixed (Half* v = values)
        {
            var m = new Weights.GroupQuantizedMatrix(q, s, z, 1, 4, 4, 4, r, c, v);
            var row = new float[4];
            m.DequantizeRow(0, row);
            Assert.Equal(new[] { 0.5f, 0.5f, 7.25f, 0.5f }, row);
        }
    }

    [Theory]
    [InlineData(new[] { 0, 1 }, new[] { 4 })]   // column past the end
    [InlineData(new[] { 1, 1 }, new[] { 0 })]   // row index does not start at 0
    [InlineData(new[] { 0, 2 }, new[] { 0 })]   // row index claims more outliers than stored
    public void Tampered_outlier_indices_are_rejected(int[] rowStart, int[] columns) =>
        Assert.Throws<Format.Pack.PackFormatException>(() => Validate(rowStart, columns));

    private static void Validate(int[] rowStart, int[] columns)
    {
        fixed (int* r = rowStart) fixed (int* c = columns)
            Weights.GroupQuantizedMatrix.ValidateOutliers(r, c, 1, 4, 1, "t", "p");
    }
}
