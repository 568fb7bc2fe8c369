using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelBuild.Runtime.Kernels;

/// <summary>
/// Dot product of a bfloat16 row with float32 activations. A bfloat16 is the upper half of a float32, so widening
/// each element to 32 bits and shifting it left by 16 is the exact conversion: two cheap operations per vector,
/// against the f16 kernel's ten (<see cref="HalfDot"/>). The stream is prefetched like the other decode kernels'.
/// </summary>
public static unsafe class BFloat16Dot
{
    public static float Avx512(ushort* w, float* x, int n)
    {
        var acc0 = Vector512<float>.Zero;
        var acc1 = Vector512<float>.Zero;
        int i = 0;
        for (; i + 32 <= n; i += 32)
        {
            StreamPrefetch.Ahead(w + i);
            acc0 = Avx512F.FusedMultiplyAdd(ToSingle(Vector256.Load(w + i)), Vector512.Load(x + i), acc0);
            acc1 = Avx512F.FusedMultiplyAdd(ToSingle(Vector256.Load(w + i + 16)), Vector512.Load(x + i + 16), acc1);
        }
        float sum = Vector512.Sum(acc0 + acc1);
        for (; i < n; i++) sum += Scalar(w[i]) * x[i];
        return sum;
    }

    public static float Avx2(ushort* w, float* x, int n)
    {
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        int i = 0;
        for (; i + 16 <= n; i += 16)
        {
            StreamPrefetch.Ahead(w + i);
            acc0 = Fma.MultiplyAdd(ToSingle(Vector128.Load(w + i)), Vector256.Load(x + i), acc0);
            acc1 = Fma.MultiplyAdd(ToSingle(Vector128.Load(w + i + 8)), Vector256.Load(x + i + 8), acc1);
        }
        float sum = Vector256.Sum(acc0 + acc1);
        for (; i < n; i++) sum += Scalar(w[i]) * x[i];
        return sum;
    }

    /// <summary>A row to float32 (prefill, the scalar path, device uploads); vectorized where the CPU allows.</summary>
    public static void ToSingle(ushort* src, float* dst, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8)
                (Vector256.WidenLower(Vector128.Load(src + i).ToVector256Unsafe()) << 16).AsSingle().Store(dst + i);
        for (; i < n; i++) dst[i] = Scalar(src[i]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Scalar(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ToSingle(Vector256<ushort> bf16) => Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512UInt32(bf16), 16).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> ToSingle(Vector128<ushort> bf16) =>
        System.Runtime.Intrinsics.X86.Avx2.ShiftLeftLogical(System.Runtime.Intrinsics.X86.Avx2.ConvertToVector256Int32(bf16), 16).AsSingle();
}
