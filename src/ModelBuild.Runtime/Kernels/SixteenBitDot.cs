using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelBuild.Runtime.Kernels;

/// <summary>A 16-bit float format's exact conversion to float32, in registers and for one value.</summary>
internal interface ISixteenBitFloat
{
    static abstract Vector512<float> ToSingle(Vector256<ushort> bits);
    static abstract Vector256<float> ToSingle(Vector128<ushort> bits);
    static abstract float ToSingle(ushort bits);
}

/// <summary>
/// Decode's dot product of a 16-bit float row (f16 or bf16, converted as it streams by) with float32 activations:
/// two accumulators, the stream prefetched like the integer kernels'. Generic over the format, so each gets its own
/// compiled loop with its conversion inlined.
/// </summary>
internal static unsafe class SixteenBitDot
{
    public static float Avx512<TFormat>(ushort* w, float* x, int n) where TFormat : struct, ISixteenBitFloat
    {
        var acc0 = Vector512<float>.Zero;
        var acc1 = Vector512<float>.Zero;
        int i = 0;
        for (; i + 32 <= n; i += 32)
        {
            StreamPrefetch.Ahead(w + i);
            acc0 = Avx512F.FusedMultiplyAdd(TFormat.ToSingle(Vector256.Load(w + i)), Vector512.Load(x + i), acc0);
            acc1 = Avx512F.FusedMultiplyAdd(TFormat.ToSingle(Vector256.Load(w + i + 16)), Vector512.Load(x + i + 16), acc1);
        }
        float sum = LaneSums.Of(acc0 + acc1);
        for (; i < n; i++) sum += TFormat.ToSingle(w[i]) * x[i];
        return sum;
    }

    /// <summary>
    /// Decode's two streams: rows i = 0 .. <paramref name="rows"/> − 1 at w0 and w1 + i·n, results to y[i], each
    /// 32-column step's activations loaded once for both rows. Per row exactly <see cref="Avx512{TFormat}"/>'s arithmetic.
    /// </summary>
    public static void Avx512Rows2<TFormat>(ushort* w0, ushort* w1, int rows, float* x, int n, float* y0, float* y1)
        where TFormat : struct, ISixteenBitFloat
    {
        for (int r = 0; r < rows; r++, w0 += n, w1 += n)
        {
            Vector512<float> a0 = default, b0 = default, a1 = default, b1 = default;
            int i = 0;
            for (; i + 32 <= n; i += 32)
            {
                StreamPrefetch.Ahead(w0 + i);
                StreamPrefetch.Ahead(w1 + i);
                var (xa, xb) = (Vector512.Load(x + i), Vector512.Load(x + i + 16));
                a0 = Avx512F.FusedMultiplyAdd(TFormat.ToSingle(Vector256.Load(w0 + i)), xa, a0);
                b0 = Avx512F.FusedMultiplyAdd(TFormat.ToSingle(Vector256.Load(w0 + i + 16)), xb, b0);
                a1 = Avx512F.FusedMultiplyAdd(TFormat.ToSingle(Vector256.Load(w1 + i)), xa, a1);
                b1 = Avx512F.FusedMultiplyAdd(TFormat.ToSingle(Vector256.Load(w1 + i + 16)), xb, b1);
            }
            var (sum0, sum1) = LaneSums.Of(a0 + b0, a1 + b1);
            for (; i < n; i++)
            {
                sum0 += TFormat.ToSingle(w0[i]) * x[i];
                sum1 += TFormat.ToSingle(w1[i]) * x[i];
            }
            y0[r] = sum0;
            y1[r] = sum1;
        }
    }

    public static float Avx2<TFormat>(ushort* w, float* x, int n) where TFormat : struct, ISixteenBitFloat
    {
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        int i = 0;
        for (; i + 16 <= n; i += 16)
        {
            StreamPrefetch.Ahead(w + i);
            acc0 = Fma.MultiplyAdd(TFormat.ToSingle(Vector128.Load(w + i)), Vector256.Load(x + i), acc0);
            acc1 = Fma.MultiplyAdd(TFormat.ToSingle(Vector128.Load(w + i + 8)), Vector256.Load(x + i + 8), acc1);
        }
        float sum = Vector256.Sum(acc0 + acc1);
        for (; i < n; i++) sum += TFormat.ToSingle(w[i]) * x[i];
        return sum;
    }
}
