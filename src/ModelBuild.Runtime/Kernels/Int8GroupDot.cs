using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelBuild.Runtime.Kernels;

/// <summary>
/// One row of 8-bit codes (0..255) against one token's int8 activations in natural order, per 32-column block,
/// for groups that are whole blocks. Returns Σ_g scale_g · (Σ_{i∈g} q_i · x_i − zero_g · Σ_{i∈g} x_i). Codes and
/// activations widen to 16 bits (vpmaddwd), since 255 · 127 · 2 would saturate the 8-bit multiply-add.
/// </summary>
public static unsafe class Int8GroupDot
{
    public static float Avx512(byte* q, float* scales, float* scaleZeros, float* groupSums, int cols, int groupSize, sbyte* x, float* blockScales)
    {
        var acc = Vector512<float>.Zero;
        int blocks = cols / 32, perGroup = groupSize / 32;
        for (int b = 0, g = 0; b < blocks; g++)
        {
            var groupAcc = Vector512<float>.Zero;
            for (int end = b + perGroup; b < end; b++)
            {
                StreamPrefetch.Ahead(q + b * 32);
                var w = Avx512BW.ConvertToVector512Int16(Vector256.Load(q + b * 32));
                var a = Avx512BW.ConvertToVector512Int16(Vector256.Load(x + b * 32));
                var lanes = Avx512BW.MultiplyAddAdjacent(w, a);
                groupAcc = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(lanes), Vector512.Create(blockScales[b]), groupAcc);
            }
            acc = Avx512F.FusedMultiplyAdd(groupAcc, Vector512.Create(scales[g]), acc);
        }
        return LaneSums.Of(ZeroPointTerm.SubtractFrom(acc, scaleZeros, groupSums, cols / groupSize));
    }

    /// <summary>
    /// Decode's two streams, a tile at a time: rows i = 0 .. <paramref name="rows"/> − 1 at q0 and q1 + i·rowBytes (scales
    /// at + i·groups, results to y[i]); each block's activations are widened once for both rows. Per row the arithmetic is
    /// exactly <see cref="Avx512"/>'s, so results are identical.
    /// </summary>
    public static void Avx512Rows2(byte* q0, byte* q1, long rowBytes, int rows, float* scales0, float* scales1, float* scaleZeros0, float* scaleZeros1,
        float* groupSums, int cols, int groupSize, sbyte* x, float* blockScales, float* y0, float* y1)
    {
        int groups = cols / groupSize;
        for (int i = 0; i < rows; i++)
            Rows2(q0 + i * rowBytes, q1 + i * rowBytes, scales0 + i * groups, scales1 + i * groups, scaleZeros0 + i * groups,
                scaleZeros1 + i * groups, groupSums, cols, groupSize, x, blockScales, y0 + i, y1 + i);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rows2(byte* q0, byte* q1, float* scales0, float* scales1, float* scaleZeros0, float* scaleZeros1, float* groupSums,
        int cols, int groupSize, sbyte* x, float* blockScales, float* result0, float* result1)
    {
        var acc0 = Vector512<float>.Zero;
        var acc1 = Vector512<float>.Zero;
        int blocks = cols / 32, perGroup = groupSize / 32;
        for (int b = 0, g = 0; b < blocks; g++)
        {
            var groupAcc0 = Vector512<float>.Zero;
            var groupAcc1 = Vector512<float>.Zero;
            for (int end = b + perGroup; b < end; b++)
            {
                StreamPrefetch.Ahead(q0 + b * 32);
                StreamPrefetch.Ahead(q1 + b * 32);
                var a = Avx512BW.ConvertToVector512Int16(Vector256.Load(x + b * 32));
                var blockScale = Vector512.Create(blockScales[b]);
                var lanes0 = Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(q0 + b * 32)), a);
                var lanes1 = Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(q1 + b * 32)), a);
                groupAcc0 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(lanes0), blockScale, groupAcc0);
                groupAcc1 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(lanes1), blockScale, groupAcc1);
            }
            acc0 = Avx512F.FusedMultiplyAdd(groupAcc0, Vector512.Create(scales0[g]), acc0);
            acc1 = Avx512F.FusedMultiplyAdd(groupAcc1, Vector512.Create(scales1[g]), acc1);
        }
        (*result0, *result1) = LaneSums.Of(ZeroPointTerm.SubtractFrom(acc0, scaleZeros0, groupSums, cols / groupSize),
            ZeroPointTerm.SubtractFrom(acc1, scaleZeros1, groupSums, cols / groupSize));
    }

    /// <summary>
    /// AVX2; with AVX-VNNI one vpdpbusd per 32 codes (u8 × s8 into 32-bit lanes) replaces four widenings, two vpmaddwd and
    /// an add. The lanes then group the products differently, so results may differ from the 16-bit route in the last bits.
    /// </summary>
    public static float Avx2(byte* q, float* scales, float* scaleZeros, float* groupSums, int cols, int groupSize, sbyte* x, float* blockScales) =>
        Avx2(q, scales, scaleZeros, groupSums, cols, groupSize, x, blockScales, AvxVnni.IsSupported);

    /// <summary>The AVX2 kernel without AVX-VNNI, for comparison on CPUs that have it.</summary>
    internal static float Avx2WithoutVnni(byte* q, float* scales, float* scaleZeros, float* groupSums, int cols, int groupSize, sbyte* x, float* blockScales) =>
        Avx2(q, scales, scaleZeros, groupSums, cols, groupSize, x, blockScales, vnni: false);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Avx2(byte* q, float* scales, float* scaleZeros, float* groupSums, int cols, int groupSize, sbyte* x, float* blockScales, bool vnni)
    {
        var acc = Vector256<float>.Zero;
        int blocks = cols / 32, perGroup = groupSize / 32;
        for (int b = 0, g = 0; b < blocks; g++)
        {
            var groupAcc = Vector256<float>.Zero;
            for (int end = b + perGroup; b < end; b++)
            {
                StreamPrefetch.Ahead(q + b * 32);
                var lanes = vnni && AvxVnni.IsSupported
                    ? AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, Vector256.Load(q + b * 32), Vector256.Load(x + b * 32))
                    : System.Runtime.Intrinsics.X86.Avx2.MultiplyAddAdjacent(
                                System.Runtime.Intrinsics.X86.Avx2.ConvertToVector256Int16(Vector128.Load(q + b * 32)),
                                System.Runtime.Intrinsics.X86.Avx2.ConvertToVector256Int16(Vector128.Load(x + b * 32)))
                          + System.Runtime.Intrinsics.X86.Avx2.MultiplyAddAdjacent(
                                System.Runtime.Intrinsics.X86.Avx2.ConvertToVector256Int16(Vector128.Load(q + b * 32 + 16)),
                                System.Runtime.Intrinsics.X86.Avx2.ConvertToVector256Int16(Vector128.Load(x + b * 32 + 16)));
                groupAcc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(lanes), Vector256.Create(blockScales[b]), groupAcc);
            }
            acc = Fma.MultiplyAdd(groupAcc, Vector256.Create(scales[g]), acc);
        }
        return Vector256.Sum(acc) - ZeroPointTerm.Sum(scaleZeros, groupSums, cols / groupSize);
    }
}
