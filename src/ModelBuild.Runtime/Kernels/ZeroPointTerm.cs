using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelBuild.Runtime.Kernels;

/// <summary>
/// The asymmetric grid's offset in a group-quantized dot product: Σ_g zero_g · scale_g · Σ_{i∈g} x_i, from the
/// per-group products zero·scale and the per-group activation sums. Every integer kernel subtracts it once per row.
/// </summary>
internal static unsafe class ZeroPointTerm
{
    public static float Sum(float* scaleZeros, float* groupSums, int groups)
    {
        // Eight groups per FMA. The scalar loop was one chain of dependent adds, about 4 cycles a group: on 2048-column
        // rows (16 groups) the int4 kernel ran 1.35× as fast from L2 once this was vectorized.
        int g = 0;
        float sum = 0;
        if (Fma.IsSupported && groups >= 8)
        {
            var acc = Vector256<float>.Zero;
            for (; g + 8 <= groups; g += 8) acc = Fma.MultiplyAdd(Vector256.Load(scaleZeros + g), Vector256.Load(groupSums + g), acc);
            sum = Vector256.Sum(acc);
        }
        for (; g < groups; g++) sum += scaleZeros[g] * groupSums[g];
        return sum;
    }

    /// <summary>
    /// <paramref name="lanes"/> less the term spread over its lanes, 16 groups per FMA and a masked load for the rest: the
    /// AVX-512 kernels subtract it before their horizontal sum instead of summing it apart (a second reduction per row).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> SubtractFrom(Vector512<float> lanes, float* scaleZeros, float* groupSums, int groups)
    {
        int g = 0;
        for (; g + 16 <= groups; g += 16)
            lanes = Avx512F.FusedMultiplyAddNegated(Vector512.Load(scaleZeros + g), Vector512.Load(groupSums + g), lanes);
        if (g < groups)
        {
            // Masked-off lanes load as zero and are never read, so a row's last groups may end anywhere.
            var mask = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(groups - g)).AsSingle();
            lanes = Avx512F.FusedMultiplyAddNegated(Avx512F.MaskLoad(scaleZeros + g, mask, Vector512<float>.Zero),
                Avx512F.MaskLoad(groupSums + g, mask, Vector512<float>.Zero), lanes);
        }
        return lanes;
    }
}
