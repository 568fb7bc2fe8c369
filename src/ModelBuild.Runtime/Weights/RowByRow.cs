using System.Numerics.Tensors;
using ModelBuild.Runtime.Kernels;

namespace ModelBuild.Runtime.Weights;

/// <summary>
/// The reference product: dequantize a row to float32, then dot it with each token in full precision. The
/// scalar path uses it everywhere; SIMD paths use it for f32/f16/bf16 prefill and for shapes their integer kernels
/// don't tile, four rows at a time in register tiles (<see cref="FloatRowTile"/>).
/// </summary>
internal static unsafe class RowByRow
{
    [ThreadStatic] private static float[]? _row;

    public static Span<float> Buffer(int length)
    {
        if (_row is null || _row.Length < length) _row = new float[Math.Max(length, 4096)];
        return _row.AsSpan(0, length);
    }

    public static void Multiply(IWeightMatrix w, ActivationBatch x, float* y, int yStride, int rowStart, int rowEnd, KernelPath path)
    {
        int cols = w.Cols;
        if (x.Tokens > 1 && path is KernelPath.Avx2 or KernelPath.Avx512)
        {
            // Prefill: four rows at a time against the tokens in register tiles.
            var tile = Buffer(FloatRowTile.Rows * cols);
            fixed (float* rows = tile, values = x.Values)
                for (; rowStart + FloatRowTile.Rows <= rowEnd; rowStart += FloatRowTile.Rows)
                {
                    for (int i = 0; i < FloatRowTile.Rows; i++) w.DequantizeRow(rowStart + i, tile.Slice(i * cols, cols));
                    FloatRowTile.Multiply(rows, cols, values, x.Tokens, y + rowStart, yStride, path == KernelPath.Avx512);
                }
        }
        var row = Buffer(cols);
        for (int r = rowStart; r < rowEnd; r++)
        {
            w.DequantizeRow(r, row);
            for (int t = 0; t < x.Tokens; t++)
            {
                var input = x.Values.AsSpan(t * cols, cols);
                y[(long)t * yStride + r] = path == KernelPath.Scalar ? ScalarDot(row, input) : TensorPrimitives.Dot(row, input);
            }
        }
    }

    public static float ScalarDot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        float sum = 0;
        for (int i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }
}
