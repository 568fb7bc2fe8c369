using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelBuild.Runtime.Kernels;

/// <summary>
/// One row of 4-bit codes (two per byte, low nibble = even column) against one token's int8 activations in
/// nibble order, for groups that are whole 128-column chunks. Returns Σ_g scale_g · (Σ_{i∈g} q_i · x_i −
/// zero_g · Σ_{i∈g} x_i), x_i being the dequantized activations (the zero-point term comes from per-group
/// activation sums). Byte products stay in 16 bits: 15 · 127 · 4 &lt; 32767, so vpmaddubsw never saturates.
/// </summary>
public static unsafe class Int4GroupDot
{
    public static float Avx512(byte* q, float* scales, float* scaleZeros, float* groupSums, int cols, int groupSize, sbyte* x, float* laneScales)
    {
        var mask = Vector512.Create((byte)0x0F);
        var ones = Vector512.Create((short)1);
        var acc = Vector512<float>.Zero;
        float zeroTerm = 0;
        int groups = cols / groupSize, perGroup = groupSize / 128;
        for (int g = 0; g < groups; g++)
        {
            var groupAcc = Vector512<float>.Zero;
            for (int i = 0; i < perGroup; i++)
            {
                StreamPrefetch.Ahead(q);
                var w = Vector512.Load(q);
                var lo = w & mask;
                var hi = Vector512.ShiftRightLogical(w.AsUInt16(), 4).AsByte() & mask;
                var pairs = Avx512BW.MultiplyAddAdjacent(lo, Vector512.Load(x)) + Avx512BW.MultiplyAddAdjacent(hi, Vector512.Load(x + 64));
                var lanes = Avx512BW.MultiplyAddAdjacent(pairs, ones);
                groupAcc = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(lanes), Vector512.Load(laneScales), groupAcc);
                q += 64;
                x += 128;
                laneScales += 16;
            }
            acc = Avx512F.FusedMultiplyAdd(groupAcc, Vector512.Create(scales[g]), acc);
            zeroTerm += scaleZeros[g] * groupSums[g];
        }
        return Vector512.Sum(acc) - zeroTerm;
    }

    public static float Avx2(byte* q, float* scales, float* scaleZeros, float* groupSums, int cols, int groupSize, sbyte* x, float* laneScales)
    {
        var mask = Vector256.Create((byte)0x0F);
        var ones = Vector256.Create((short)1);
        var acc = Vector256<float>.Zero;
        float zeroTerm = 0;
        int groups = cols / groupSize, perGroup = groupSize / 128;
        for (int g = 0; g < groups; g++)
        {
            var groupAcc = Vector256<float>.Zero;
            for (int i = 0; i < perGroup; i++)
            {
                StreamPrefetch.Ahead(q);
                for (int half = 0; half < 2; half++)
                {
                    // Bytes 32h..32h+31 hold even columns at nibble-order 32h+k (low) and odd ones at 64+32h+k (high).
                    var w = Vector256.Load(q + half * 32);
                    var lo = w & mask;
                    var hi = Vector256.ShiftRightLogical(w.AsUInt16(), 4).AsByte() & mask;
                    var pairs = System.Runtime.Intrinsics.X86.Avx2.MultiplyAddAdjacent(lo, Vector256.Load(x + half * 32))
                              + System.Runtime.Intrinsics.X86.Avx2.MultiplyAddAdjacent(hi, Vector256.Load(x + 64 + half * 32));
                    var lanes = System.Runtime.Intrinsics.X86.Avx2.MultiplyAddAdjacent(pairs, ones);
                    groupAcc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(lanes), Vector256.Load(laneScales + half * 8), groupAcc);
                }
                q += 64;
                x += 128;
                laneScales += 16;
            }
            acc = Fma.MultiplyAdd(groupAcc, Vector256.Create(scales[g]), acc);
            zeroTerm += scaleZeros[g] * groupSums[g];
        }
        return Vector256.Sum(acc) - zeroTerm;
    }
}
