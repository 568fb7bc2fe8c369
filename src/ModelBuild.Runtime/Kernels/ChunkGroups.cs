using System.Runtime.CompilerServices;

namespace ModelBuild.Runtime.Kernels;

/// <summary>
/// The quantization group of a 128-column chunk, c / chunksPerGroup, as a multiply and a shift: the JIT emits an
/// idiv for the division (two per chunk pair), which cost the compute-bound 2:4 kernel about 7 % of its speed.
/// With m = ⌊2³²/d⌋ + 1, ⌊c·m / 2³²⌋ = ⌊c/d⌋ for every c &lt; 2³²/d, far beyond any row's chunk count.
/// </summary>
internal readonly struct ChunkGroups
{
    private readonly ulong _reciprocal;

    public ChunkGroups(int groupSize) => _reciprocal = (1UL << 32) / (ulong)(groupSize / 128) + 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Of(int chunk) => (int)(((ulong)(uint)chunk * _reciprocal) >> 32);
}
