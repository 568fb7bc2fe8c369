using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ModelBuild.Format.Pack;

namespace ModelBuild.Runtime.Kernels;

/// <summary>
/// bfloat16 rows against float32 activations. A bfloat16 is the upper half of a float32, so widening each element to
/// 32 bits and shifting it left by 16 is the exact conversion: two cheap operations per vector, against the f16
/// conversion's ten (<see cref="HalfDot"/>).
/// </summary>
public static unsafe class BFloat16Dot
{
    public static float Avx512(ushort* w, float* x, int n) => SixteenBitDot.Avx512<Format>(w, x, n);

    public static float Avx2(ushort* w, float* x, int n) => SixteenBitDot.Avx2<Format>(w, x, n);

    /// <summary>Two rows at a time over a run of row pairs (decode's two streams; see <see cref="SixteenBitDot"/>).</summary>
    public static void Avx512Rows2(ushort* w0, ushort* w1, int rows, float* x, int n, float* y0, float* y1) =>
        SixteenBitDot.Avx512Rows2<Format>(w0, w1, rows, x, n, y0, y1);

    /// <summary>A row to float32 (prefill, the scalar path, device uploads); vectorized where the CPU allows.</summary>
    public static void ToSingle(ushort* src, float* dst, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8)
                (Vector256.WidenLower(Vector128.Load(src + i).ToVector256Unsafe()) << 16).AsSingle().Store(dst + i);
        for (; i < n; i++) dst[i] = BFloat16Bits.ToSingle(src[i]);
    }

    private readonly struct Format : ISixteenBitFloat
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float ToSingle(ushort bits) => BFloat16Bits.ToSingle(bits);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> ToSingle(Vector256<ushort> bits) => Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512UInt32(bits), 16).AsSingle();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> ToSingle(Vector128<ushort> bits) =>
            System.Runtime.Intrinsics.X86.Avx2.ShiftLeftLogical(System.Runtime.Intrinsics.X86.Avx2.ConvertToVector256Int32(bits), 16).AsSingle();
    }
}
