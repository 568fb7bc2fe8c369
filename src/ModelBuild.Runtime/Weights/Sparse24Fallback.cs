using ModelBuild.Runtime.Kernels;

namespace ModelBuild.Runtime.Weights;

/// <summary>
/// Which 2:4 matrices a SIMD path can multiply as they are packed (AVX-512 with VBMI), and dense expansions of the
/// others, made once at load: re-expanding every row for every decoded token made AVX2 decode many times slower than
/// a dense pack, while the expansion costs only the dense layout's memory.
/// </summary>
public static class Sparse24Fallback
{
    public static IWeightMatrix ForPath(IWeightMatrix matrix, KernelPath path) => matrix switch
    {
        GroupQuantizedMatrix { IsSparse24: true } gq when !KernelPaths.HasSparse24Kernels(path) => gq.ExpandToDense(),
        Sparse24HalfMatrix half when !KernelPaths.HasSparse24Kernels(path) => half.ExpandToDense(),
        _ => matrix,
    };
}
