using ModelBuild.Compression.Quantization;

namespace ModelBuild.Compression.Tests;

public class RtnQuantizerTests
{
    private static float[] RandomWeights(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1) * 0.1f).ToArray();
    }

    [Theory]
    [InlineData(4, 32, false)]
    [InlineData(4, 64, true)]
    [InlineData(8, 128, false)]
    [InlineData(8, -1, true)]
    public void Every_weight_is_within_a_step_of_its_group_grid_and_rounding_error_averages_a_quarter_step(int bits, int group, bool symmetric)
    {
        int rows = 7, cols = 128;
        var w = RandomWeights(rows * cols, bits + group);
        var q = RtnQuantizer.Quantize(w, rows, cols, bits, group, symmetric);
        int g = group == -1 ? cols : group;
        double relativeErrorSum = 0;
        Assert.Equal(rows * cols / g, q.Scales.Length);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
            {
                float scale = (float)q.Scales[r * (cols / g) + c / g];
                Assert.InRange(q.Codes[r * cols + c], 0, (1 << bits) - 1);
                float error = Math.Abs(w[r * cols + c] - q.Dequantize(r, c));
                // Interior weights round to within half a step; the range ends may clip (integer zero point, f16 scale).
                Assert.True(error <= scale + 1e-6f, $"row {r} col {c}: {w[r * cols + c]} vs {q.Dequantize(r, c)} (scale {scale})");
                relativeErrorSum += error / scale;
            }
        Assert.InRange(relativeErrorSum / (rows * cols), 0.15, 0.3); // uniform rounding error averages 1/4 step
    }

    [Theory]
    [InlineData(2, 256, 128)]  // four codes per byte
    [InlineData(2, 96, 32)]    // not whole 128-column chunks: 4-bit slots
    [InlineData(3, 256, 128)]
    [InlineData(4, 256, 64)]
    [InlineData(8, 128, 32)]
    public unsafe void Packed_codes_read_back_through_the_runtime_give_the_quantizers_weights(int bits, int cols, int group)
    {
        const int rows = 5;
        var q = RtnQuantizer.Quantize(RandomWeights(rows * cols, bits * cols), rows, cols, bits, group, symmetric: false);
        byte[] packed = q.PackCodes();
        Assert.Equal(rows * Format.Pack.TensorLayout.PackedRowBytes(cols, bits), packed.Length);
        if (bits == 2 && cols % 128 == 0) Assert.Equal(rows * cols / 4, packed.Length);
        var row = new float[cols];
        fixed (byte* codes = packed)
        fixed (Half* scales = q.Scales)
        fixed (byte* zeros = q.Zeros)
        {
            var matrix = new Runtime.Weights.GroupQuantizedMatrix(codes, scales, zeros, rows, cols, bits, group);
            for (int r = 0; r < rows; r++)
            {
                matrix.DequantizeRow(r, row);
                for (int c = 0; c < cols; c++) Assert.Equal(q.Dequantize(r, c), row[c]);
            }
        }
    }

    [Fact]
    public void Eight_bits_are_much_more_accurate_than_four()
    {
        var w = RandomWeights(16 * 256, 3);
        double Err(int bits) => w.Zip(RtnQuantizer.Quantize(w, 16, 256, bits, 128, false).Dequantize(), (a, b) => (double)(a - b) * (a - b)).Sum();
        Assert.True(Err(8) * 100 < Err(4), $"int8 error {Err(8)} vs int4 {Err(4)}");
    }

    [Fact]
    public void Zeros_stay_exactly_zero()
    {
        var w = RandomWeights(4 * 64, 5);
        for (int i = 0; i < w.Length; i += 3) w[i] = 0;
        var dq = RtnQuantizer.Quantize(w, 4, 64, 4, 32, false).Dequantize();
        for (int i = 0; i < w.Length; i += 3) Assert.Equal(0f, dq[i]);
    }

    [Fact]
    public void Four_bit_codes_pack_two_per_byte_low_nibble_first()
    {
        var q = new QuantizedMatrix(1, 4, 4, 4, false, new byte[] { 1, 2, 15, 0 }, new[] { (Half)1 }, new byte[] { 0 });
        Assert.Equal(new byte[] { 0x21, 0x0F }, q.PackCodes());
    }
}
