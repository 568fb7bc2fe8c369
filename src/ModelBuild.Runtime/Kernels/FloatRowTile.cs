using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelBuild.Runtime.Kernels;

/// <summary>
/// Prefill product of float32 rows (dequantized once into a cache-resident buffer) with several tokens: a tile of
/// 4 rows × 2 tokens keeps eight accumulators in registers, so each step loads 4 row vectors and 2 token vectors for
/// 8 fused multiply-adds. One dot product per row and token instead loads two vectors per multiply-add and reduces
/// each sum on its own, which left f16 prefill at a tenth of the FMA units' rate.
/// </summary>
internal static unsafe class FloatRowTile
{
    public const int Rows = 4;

    /// <summary>y[t·yStride + r] = rows[r] · x[t] for the 4 rows (stride cols) and every token (stride cols).</summary>
    public static void Multiply(float* rows, int cols, float* x, int tokens, float* y, long yStride, bool avx512)
    {
        int t = 0;
        for (; t + 2 <= tokens; t += 2)
        {
            if (avx512) Tile512(rows, cols, x + (long)t * cols, y + t * yStride, yStride);
            else Tile256(rows, cols, x + (long)t * cols, y + t * yStride, yStride);
        }
        for (; t < tokens; t++)
            for (int r = 0; r < Rows; r++)
                y[t * yStride + r] = System.Numerics.Tensors.TensorPrimitives.Dot(new ReadOnlySpan<float>(rows + (long)r * cols, cols), new ReadOnlySpan<float>(x + (long)t * cols, cols));
    }

    private static void Tile512(float* w, int cols, float* x, float* y, long yStride)
    {
        float* w1 = w + cols, w2 = w1 + cols, w3 = w2 + cols, x1 = x + cols;
        Vector512<float> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default, a30 = default, a31 = default;
        int c = 0;
        for (; c + 16 <= cols; c += 16)
        {
            var v0 = Vector512.Load(x + c);
            var v1 = Vector512.Load(x1 + c);
            var r0 = Vector512.Load(w + c);
            a00 = Avx512F.FusedMultiplyAdd(r0, v0, a00);
            a01 = Avx512F.FusedMultiplyAdd(r0, v1, a01);
            var r1 = Vector512.Load(w1 + c);
            a10 = Avx512F.FusedMultiplyAdd(r1, v0, a10);
            a11 = Avx512F.FusedMultiplyAdd(r1, v1, a11);
            var r2 = Vector512.Load(w2 + c);
            a20 = Avx512F.FusedMultiplyAdd(r2, v0, a20);
            a21 = Avx512F.FusedMultiplyAdd(r2, v1, a21);
            var r3 = Vector512.Load(w3 + c);
            a30 = Avx512F.FusedMultiplyAdd(r3, v0, a30);
            a31 = Avx512F.FusedMultiplyAdd(r3, v1, a31);
        }
        Store(y, yStride, c, cols, w, x,
            Vector512.Sum(a00), Vector512.Sum(a01), Vector512.Sum(a10), Vector512.Sum(a11),
            Vector512.Sum(a20), Vector512.Sum(a21), Vector512.Sum(a30), Vector512.Sum(a31));
    }

    private static void Tile256(float* w, int cols, float* x, float* y, long yStride)
    {
        float* w1 = w + cols, w2 = w1 + cols, w3 = w2 + cols, x1 = x + cols;
        Vector256<float> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default, a30 = default, a31 = default;
        int c = 0;
        for (; c + 8 <= cols; c += 8)
        {
            var v0 = Vector256.Load(x + c);
            var v1 = Vector256.Load(x1 + c);
            var r0 = Vector256.Load(w + c);
            a00 = Fma.MultiplyAdd(r0, v0, a00);
            a01 = Fma.MultiplyAdd(r0, v1, a01);
            var r1 = Vector256.Load(w1 + c);
            a10 = Fma.MultiplyAdd(r1, v0, a10);
            a11 = Fma.MultiplyAdd(r1, v1, a11);
            var r2 = Vector256.Load(w2 + c);
            a20 = Fma.MultiplyAdd(r2, v0, a20);
            a21 = Fma.MultiplyAdd(r2, v1, a21);
            var r3 = Vector256.Load(w3 + c);
            a30 = Fma.MultiplyAdd(r3, v0, a30);
            a31 = Fma.MultiplyAdd(r3, v1, a31);
        }
        Store(y, yStride, c, cols, w, x,
            Vector256.Sum(a00), Vector256.Sum(a01), Vector256.Sum(a10), Vector256.Sum(a11),
            Vector256.Sum(a20), Vector256.Sum(a21), Vector256.Sum(a30), Vector256.Sum(a31));
    }

    /// <summary>Adds the columns past the last whole vector and writes the tile's 4 × 2 results.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* y, long yStride, int c, int cols, float* w, float* x,
        float s00, float s01, float s10, float s11, float s20, float s21, float s30, float s31)
    {
        y[0] = s00 + Dot(w + c, x + c, cols - c);
        y[yStride] = s01 + Dot(w + c, x + cols + c, cols - c);
        y[1] = s10 + Dot(w + cols + c, x + c, cols - c);
        y[yStride + 1] = s11 + Dot(w + cols + c, x + cols + c, cols - c);
        y[2] = s20 + Dot(w + 2 * cols + c, x + c, cols - c);
        y[yStride + 2] = s21 + Dot(w + 2 * cols + c, x + cols + c, cols - c);
        y[3] = s30 + Dot(w + 3 * cols + c, x + c, cols - c);
        y[yStride + 3] = s31 + Dot(w + 3 * cols + c, x + cols + c, cols - c);
    }

    private static float Dot(float* a, float* b, int n)
    {
        float sum = 0;
        for (int i = 0; i < n; i++) sum += a[i] * b[i];
        return sum;
    }
}
