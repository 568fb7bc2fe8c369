using System.Numerics.Tensors;
using ModelBuild.Runtime.Weights;

namespace ModelBuild.Runtime.Kernels;

/// <summary>
/// y[t, r] = dot(W[r, :], x[t, :]) for T token rows at once. Each output row's weights are dequantized into a
/// small per-thread buffer and reused across all T tokens, so prefill amortizes the unpacking and no
/// full-precision copy of the matrix ever exists.
/// </summary>
public static class MatMul
{
    [ThreadStatic] private static float[]? _rowBuffer;

    public static void Multiply(IWeightMatrix w, ReadOnlySpan<float> x, Span<float> y, int tokens, ReadOnlySpan<float> bias = default)
    {
        int rows = w.Rows, cols = w.Cols;
        if (x.Length < tokens * cols || y.Length < tokens * rows) throw new ArgumentException("activation buffers are too small.");
        unsafe
        {
            fixed (float* xp = x)
            fixed (float* yp = y)
            fixed (float* bp = bias)
            {
                float* xs = xp, ys = yp, bs = bp;
                bool hasBias = !bias.IsEmpty;
                int chunk = Math.Max(1, rows / (Environment.ProcessorCount * 4));
                Parallel.For(0, (rows + chunk - 1) / chunk, block =>
                {
                    var buffer = _rowBuffer is { } b && b.Length >= cols ? b : (_rowBuffer = new float[Math.Max(cols, 4096)]);
                    var row = buffer.AsSpan(0, cols);
                    int end = Math.Min(rows, (block + 1) * chunk);
                    for (int r = block * chunk; r < end; r++)
                    {
                        w.DequantizeRow(r, row);
                        float add = hasBias ? bs[r] : 0f;
                        for (int t = 0; t < tokens; t++)
                            ys[(long)t * rows + r] = TensorPrimitives.Dot(row, new ReadOnlySpan<float>(xs + (long)t * cols, cols)) + add;
                    }
                });
            }
        }
    }
}
