using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelBuild.Runtime.Kernels;

/// <summary>
/// The horizontal sums that finish the AVX-512 row kernels: two rows' 16 lane partials reduced in one tree, so the rows
/// share its shuffles (half the instructions of two <c>Vector512.Sum</c> calls; on 2048-column int4 rows the per-row
/// finish was about a seventh of the kernel's time). A single row goes through the same tree beside itself, so one-,
/// two- and four-row kernels give a row the same bits.
/// </summary>
internal static class LaneSums
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (float First, float Second) Of(Vector512<float> first, Vector512<float> second)
    {
        var a = first.GetLower() + first.GetUpper();
        var b = second.GetLower() + second.GetUpper();
        // Per 128-bit half: a0+a1, a2+a3, b0+b1, b2+b3; the halves then add, and one more pairwise add leaves a's sum in
        // element 0 and b's in element 1.
        var pairs = Avx.HorizontalAdd(a, b);
        var quads = pairs.GetLower() + pairs.GetUpper();
        var sums = Sse3.HorizontalAdd(quads, quads);
        return (sums.ToScalar(), sums.GetElement(1));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Of(Vector512<float> row) => Of(row, row).First;
}
