namespace ModelBuild.Runtime.Kernels;

/// <summary>
/// The asymmetric grid's offset in a group-quantized dot product: Σ_g zero_g · scale_g · Σ_{i∈g} x_i, from the
/// per-group products zero·scale and the per-group activation sums. Every integer kernel subtracts it once per row.
/// </summary>
internal static unsafe class ZeroPointTerm
{
    public static float Sum(float* scaleZeros, float* groupSums, int groups)
    {
        float sum = 0;
        for (int g = 0; g < groups; g++) sum += scaleZeros[g] * groupSums[g];
        return sum;
    }
}
