using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelBuild.Runtime.Kernels;

/// <summary>How a code format unpacks for <see cref="PairedRows"/>: two chunks at a time, and a last single chunk.</summary>
internal unsafe interface IChunkPairCodes
{
    /// <summary>Bytes of codes per pair of 128-column chunks.</summary>
    int PairBytes { get; }

    (Vector512<byte> EvenA, Vector512<byte> OddA, Vector512<byte> EvenB, Vector512<byte> OddB) UnpackPair(byte* q);

    (Vector512<byte> Even, Vector512<byte> Odd) UnpackSingle(byte* q);
}

/// <summary>
/// The two-row decode kernel of the 2-, 3- and 4-bit formats (each unpacks a chunk pair): decode's two streams in one
/// call, each chunk pair's activations and lane multipliers loaded once for both rows. Per row the arithmetic is exactly the
/// format's one-row kernel's (same chunk pairing, accumulators and sums), so results are identical. A struct type
/// argument makes the JIT compile one copy per format with its unpacking inlined.
/// </summary>
internal static unsafe class PairedRows
{
    /// <summary>
    /// Rows i = 0 .. <paramref name="rows"/> − 1 of both streams (row i at q + i·rowBytes, its scales at scales + i·groups,
    /// its result to y[i]): decode calls this once per tile, so the per-row work stays inside one loop.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Avx512<TCodes>(in TCodes format, byte* q0, byte* q1, long rowBytes, int rows, float* scales0, float* scales1,
        float* scaleZeros0, float* scaleZeros1, float* groupSums, int cols, int groupSize, sbyte* x, short* laneMultipliers, float unit, float* y0, float* y1)
        where TCodes : struct, IChunkPairCodes
    {
        int groups = cols / groupSize;
        for (int i = 0; i < rows; i++)
            Avx512(format, q0 + i * rowBytes, q1 + i * rowBytes, scales0 + i * groups, scales1 + i * groups, scaleZeros0 + i * groups,
                scaleZeros1 + i * groups, groupSums, cols, groupSize, x, laneMultipliers, unit, y0 + i, y1 + i);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Avx512<TCodes>(in TCodes format, byte* q0, byte* q1, float* scales0, float* scales1, float* scaleZeros0, float* scaleZeros1,
        float* groupSums, int cols, int groupSize, sbyte* x, short* laneMultipliers, float unit, float* result0, float* result1) where TCodes : struct, IChunkPairCodes
    {
        int chunks = cols / 128;
        var groups = new ChunkGroups(groupSize);
        Vector512<float> a0 = default, b0 = default, a1 = default, b1 = default;
        int c = 0;
        for (; c + 1 < chunks; c += 2)
        {
            StreamPrefetch.Ahead(q0);
            StreamPrefetch.Ahead(q1);
            if (format.PairBytes > 64)
            {
                StreamPrefetch.Ahead(q0 + 64);
                StreamPrefetch.Ahead(q1 + 64);
            }
            int gA = groups.Of(c), gB = groups.Of(c + 1);
            var (xEvenA, xOddA, lanesA) = (Vector512.Load(x), Vector512.Load(x + 64), Vector512.Load(laneMultipliers));
            var (xEvenB, xOddB, lanesB) = (Vector512.Load(x + 128), Vector512.Load(x + 192), Vector512.Load(laneMultipliers + 32));
            var (evenA, oddA, evenB, oddB) = format.UnpackPair(q0);
            a0 = Avx512F.FusedMultiplyAdd(Int4GroupDot.Avx512Chunk(evenA, oddA, xEvenA, xOddA, lanesA), Vector512.Create(scales0[gA]), a0);
            b0 = Avx512F.FusedMultiplyAdd(Int4GroupDot.Avx512Chunk(evenB, oddB, xEvenB, xOddB, lanesB), Vector512.Create(scales0[gB]), b0);
            (evenA, oddA, evenB, oddB) = format.UnpackPair(q1);
            a1 = Avx512F.FusedMultiplyAdd(Int4GroupDot.Avx512Chunk(evenA, oddA, xEvenA, xOddA, lanesA), Vector512.Create(scales1[gA]), a1);
            b1 = Avx512F.FusedMultiplyAdd(Int4GroupDot.Avx512Chunk(evenB, oddB, xEvenB, xOddB, lanesB), Vector512.Create(scales1[gB]), b1);
            q0 += format.PairBytes;
            q1 += format.PairBytes;
            x += 256;
            laneMultipliers += 64;
        }
        if (c < chunks)
        {
            int g = groups.Of(c);
            var (even, odd) = format.UnpackSingle(q0);
            a0 = Avx512F.FusedMultiplyAdd(Int4GroupDot.Avx512Chunk(even, odd, x, laneMultipliers), Vector512.Create(scales0[g]), a0);
            (even, odd) = format.UnpackSingle(q1);
            a1 = Avx512F.FusedMultiplyAdd(Int4GroupDot.Avx512Chunk(even, odd, x, laneMultipliers), Vector512.Create(scales1[g]), a1);
        }
        (*result0, *result1) = LaneSums.Of(ZeroPointTerm.SubtractFrom((a0 + b0) * unit, scaleZeros0, groupSums, cols / groupSize),
            ZeroPointTerm.SubtractFrom((a1 + b1) * unit, scaleZeros1, groupSums, cols / groupSize));
    }
}
