using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelBuild.Runtime.Kernels;

/// <summary>
/// Dot product of an f16 row with float32 activations, converting in registers (.NET exposes no F16C
/// intrinsics, so the conversion is integer arithmetic): shifting the half's exponent and mantissa into float
/// position and multiplying by 2^112 rebiases the exponent exactly, subnormals included; Inf and NaN are
/// patched with a compare. Used for decode, where the row is read once (the loop is <see cref="SixteenBitDot"/>'s,
/// prefetched: without the prefetch the f16 head read 9.6 GB/s from DRAM on 2 threads, with it 15.4 GB/s).
/// </summary>
public static unsafe class HalfDot
{
    private const uint Rebias = 0x77800000; // 2^112 as float bits

    public static float Avx512(ushort* w, float* x, int n) => SixteenBitDot.Avx512<Format>(w, x, n);

    public static float Avx2(ushort* w, float* x, int n) => SixteenBitDot.Avx2<Format>(w, x, n);

    /// <summary>Two rows at a time over a run of row pairs (decode's two streams; see <see cref="SixteenBitDot"/>).</summary>
    public static void Avx512Rows2(ushort* w0, ushort* w1, int rows, float* x, int n, float* y0, float* y1) =>
        SixteenBitDot.Avx512Rows2<Format>(w0, w1, rows, x, n, y0, y1);

    private readonly struct Format : ISixteenBitFloat
    {
        public static float ToSingle(ushort bits) => (float)BitConverter.UInt16BitsToHalf(bits);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> ToSingle(Vector256<ushort> bits) => HalfDot.ToSingle(bits);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> ToSingle(Vector128<ushort> bits) => HalfDot.ToSingle(bits);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ToSingle(Vector256<ushort> half)
    {
        var v = Avx512F.ConvertToVector512UInt32(half);
        var magnitude = v & Vector512.Create(0x7FFFu);
        var shifted = Vector512.ShiftLeft(magnitude, 13);
        var finite = (shifted.AsSingle() * Vector512.Create(BitConverter.UInt32BitsToSingle(Rebias))).AsUInt32();
        var special = shifted | Vector512.Create(0x7F800000u);
        var bits = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(magnitude, Vector512.Create(0x7C00u)), special, finite);
        return (bits | Vector512.ShiftLeft(v & Vector512.Create(0x8000u), 16)).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ToSingle(Vector128<ushort> half)
    {
        var v = System.Runtime.Intrinsics.X86.Avx2.ConvertToVector256Int32(half).AsUInt32();
        var magnitude = v & Vector256.Create(0x7FFFu);
        var shifted = Vector256.ShiftLeft(magnitude, 13);
        var finite = (shifted.AsSingle() * Vector256.Create(BitConverter.UInt32BitsToSingle(Rebias))).AsUInt32();
        var special = shifted | Vector256.Create(0x7F800000u);
        var bits = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(magnitude, Vector256.Create(0x7C00u)), special, finite);
        return (bits | Vector256.ShiftLeft(v & Vector256.Create(0x8000u), 16)).AsSingle();
    }
}
