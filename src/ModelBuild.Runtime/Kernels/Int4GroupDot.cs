using System.Runtime.CompilerServices;
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
    public static float Avx512(byte* q, float* scales, float* scaleZeros, float* groupSums, int cols, int groupSize, sbyte* x, short* laneMultipliers, float unit)
    {
        // Chunks of 128 columns in pairs with two accumulators, so consecutive chunks do not wait on one FMA
        // chain (measured 6-10 % more GB/s from DRAM than one accumulator).
        int chunks = cols / 128;
        var groups = new ChunkGroups(groupSize);
        var split = new NibbleSplit();
        var accA = Vector512<float>.Zero;
        var accB = Vector512<float>.Zero;
        int c = 0;
        for (; c + 1 < chunks; c += 2)
        {
            StreamPrefetch.Ahead(q);
            StreamPrefetch.Ahead(q + 64);
            var (loA, hiA) = split.Split(q);
            var (loB, hiB) = split.Split(q + 64);
            accA = Avx512F.FusedMultiplyAdd(Avx512Chunk(loA, hiA, x, laneMultipliers), Vector512.Create(scales[groups.Of(c)]), accA);
            accB = Avx512F.FusedMultiplyAdd(Avx512Chunk(loB, hiB, x + 128, laneMultipliers + 32), Vector512.Create(scales[groups.Of(c + 1)]), accB);
            q += 128;
            x += 256;
            laneMultipliers += 64;
        }
        if (c < chunks)
        {
            var (lo, hi) = split.Split(q);
            accA = Avx512F.FusedMultiplyAdd(Avx512Chunk(lo, hi, x, laneMultipliers), Vector512.Create(scales[groups.Of(c)]), accA);
        }
        return LaneSums.Of(ZeroPointTerm.SubtractFrom((accA + accB) * unit, scaleZeros, groupSums, cols / groupSize));
    }

    /// <summary>
    /// One chunk's codes as even- and odd-column bytes against its 128 activations in nibble order: its 16 lane sums,
    /// each weighted by its block's multiplier (<see cref="ActivationBatch.NibbleLaneMultipliers"/>), as floats. The
    /// multiplier takes the place of the 16-bit ones that only added pairs into 32-bit lanes, so the lanes need no
    /// multiply by their float scales; the kernel applies the token's unit once per row. Per 128 weights and row that is
    /// 8 vector operations instead of 9 (int4 decode 1.006–1.009 paired on a quiet Intel Xeon, 1.016 with its
    /// neighbours busy; prefill about 1.07).
    /// 4 · 15 · 127 · 2 · 32767 &lt; 2³¹, so the lanes cannot overflow.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Avx512Chunk(Vector512<byte> lo, Vector512<byte> hi, sbyte* x, short* laneMultipliers) =>
        Avx512Chunk(lo, hi, Vector512.Load(x), Vector512.Load(x + 64), Vector512.Load(laneMultipliers));

    /// <summary>The same with the chunk's activations (even, odd columns) and multipliers already in registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Avx512Chunk(Vector512<byte> lo, Vector512<byte> hi, Vector512<sbyte> xEven, Vector512<sbyte> xOdd, Vector512<short> laneMultipliers)
    {
        var pairs = Avx512BW.MultiplyAddAdjacent(lo, xEven) + Avx512BW.MultiplyAddAdjacent(hi, xOdd);
        return Avx512F.ConvertToVector512Single(Avx512BW.MultiplyAddAdjacent(pairs, laneMultipliers));
    }

    /// <summary>
    /// Two rows against one token (decode's two streams; see <see cref="PairedRows"/>): per row exactly <see cref="Avx512"/>'s
    /// arithmetic. The shared kernel loads both chunks' activations before either row, and ran 1.096 (15 of 16 rounds) against
    /// the int4-only two-row kernel it replaced (0.958 with the order reversed).
    /// </summary>
    public static void Avx512Rows2(byte* q0, byte* q1, long rowBytes, int rows, float* scales0, float* scales1, float* scaleZeros0, float* scaleZeros1,
        float* groupSums, int cols, int groupSize, sbyte* x, short* laneMultipliers, float unit, float* y0, float* y1) =>
        PairedRows.Avx512(new PairCodes(), q0, q1, rowBytes, rows, scales0, scales1, scaleZeros0, scaleZeros1, groupSums, cols, groupSize, x, laneMultipliers, unit, y0, y1);

    /// <summary>4-bit codes for <see cref="PairedRows"/>: 64 bytes per chunk, split into even and odd columns.</summary>
    private readonly struct PairCodes() : IChunkPairCodes
    {
        private readonly NibbleSplit _split = new();

        public int PairBytes => 128;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (Vector512<byte> EvenA, Vector512<byte> OddA, Vector512<byte> EvenB, Vector512<byte> OddB) UnpackPair(byte* q)
        {
            var (loA, hiA) = _split.Split(q);
            var (loB, hiB) = _split.Split(q + 64);
            return (loA, hiA, loB, hiB);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (Vector512<byte> Even, Vector512<byte> Odd) UnpackSingle(byte* q) => _split.Split(q);
    }

    /// <summary>
    /// Four tokens against one row (prefill): each chunk's codes are loaded and unpacked once for all four. Per token
    /// the arithmetic is exactly <see cref="Avx512"/>'s (same chunk pairing and accumulators), so results are identical.
    /// </summary>
    public static void Avx512Tokens4(byte* q, float* scales, float* scaleZeros, float* groupSums, int groupSumStride, int cols, int groupSize,
        sbyte* x, long xStride, short* laneMultipliers, long multiplierStride, float* units, float* results)
    {
        int chunks = cols / 128;
        var groups = new ChunkGroups(groupSize);
        var split = new NibbleSplit();
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
        int c = 0;
        for (; c + 1 < chunks; c += 2)
        {
            StreamPrefetch.Ahead(q);
            StreamPrefetch.Ahead(q + 64);
            var (lo, hi) = split.Split(q);
            Accumulate4(lo, hi, scales[groups.Of(c)], x, xStride, laneMultipliers, multiplierStride, ref a0, ref a1, ref a2, ref a3);
            (lo, hi) = split.Split(q + 64);
            Accumulate4(lo, hi, scales[groups.Of(c + 1)], x + 128, xStride, laneMultipliers + 32, multiplierStride, ref b0, ref b1, ref b2, ref b3);
            q += 128;
            x += 256;
            laneMultipliers += 64;
        }
        if (c < chunks)
        {
            var (lo, hi) = split.Split(q);
            Accumulate4(lo, hi, scales[groups.Of(c)], x, xStride, laneMultipliers, multiplierStride, ref a0, ref a1, ref a2, ref a3);
        }
        Finish4(a0 + b0, a1 + b1, a2 + b2, a3 + b3, scaleZeros, groupSums, groupSumStride, cols / groupSize, units, results);
    }

    /// <summary>The four tokens' sums, each less its zero-point term.</summary>
    internal static void Finish4(Vector512<float> t0, Vector512<float> t1, Vector512<float> t2, Vector512<float> t3,
        float* scaleZeros, float* groupSums, int groupSumStride, int groups, float* units, float* results)
    {
        (results[0], results[1]) = LaneSums.Of(ZeroPointTerm.SubtractFrom(t0 * units[0], scaleZeros, groupSums, groups),
            ZeroPointTerm.SubtractFrom(t1 * units[1], scaleZeros, groupSums + groupSumStride, groups));
        (results[2], results[3]) = LaneSums.Of(ZeroPointTerm.SubtractFrom(t2 * units[2], scaleZeros, groupSums + 2 * groupSumStride, groups),
            ZeroPointTerm.SubtractFrom(t3 * units[3], scaleZeros, groupSums + 3 * groupSumStride, groups));
    }

    /// <summary>One chunk's unpacked codes (even and odd columns) against four tokens' activations, into four accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Accumulate4(Vector512<byte> lo, Vector512<byte> hi, float scale, sbyte* x, long xStride, short* laneMultipliers, long multiplierStride,
        ref Vector512<float> r0, ref Vector512<float> r1, ref Vector512<float> r2, ref Vector512<float> r3)
    {
        var s = Vector512.Create(scale);
        r0 = Avx512F.FusedMultiplyAdd(Avx512Chunk(lo, hi, x, laneMultipliers), s, r0);
        r1 = Avx512F.FusedMultiplyAdd(Avx512Chunk(lo, hi, x + xStride, laneMultipliers + multiplierStride), s, r1);
        r2 = Avx512F.FusedMultiplyAdd(Avx512Chunk(lo, hi, x + 2 * xStride, laneMultipliers + 2 * multiplierStride), s, r2);
        r3 = Avx512F.FusedMultiplyAdd(Avx512Chunk(lo, hi, x + 3 * xStride, laneMultipliers + 3 * multiplierStride), s, r3);
    }

    /// <summary>
    /// AVX2, with AVX-VNNI where the CPU has it (<see cref="ByteProducts"/>): the same integer lane sums either way, so
    /// both give identical results.
    /// </summary>
    public static float Avx2(byte* q, float* scales, float* scaleZeros, float* groupSums, int cols, int groupSize, sbyte* x, float* laneScales) =>
        Avx2(q, scales, scaleZeros, groupSums, cols, groupSize, x, laneScales, AvxVnni.IsSupported);

    /// <summary>The AVX2 kernel without AVX-VNNI, for comparison on CPUs that have it.</summary>
    internal static float Avx2WithoutVnni(byte* q, float* scales, float* scaleZeros, float* groupSums, int cols, int groupSize, sbyte* x, float* laneScales) =>
        Avx2(q, scales, scaleZeros, groupSums, cols, groupSize, x, laneScales, vnni: false);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Avx2(byte* q, float* scales, float* scaleZeros, float* groupSums, int cols, int groupSize, sbyte* x, float* laneScales, bool vnni)
    {
        var mask = Vector256.Create((byte)0x0F);
        var acc = Vector256<float>.Zero;
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
                    var xEven = Vector256.Load(x + half * 32);
                    var xOdd = Vector256.Load(x + 64 + half * 32);
                    var lanes = ByteProducts.CodePairs(lo, xEven, hi, xOdd, vnni);
                    groupAcc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(lanes), Vector256.Load(laneScales + half * 8), groupAcc);
                }
                q += 64;
                x += 128;
                laneScales += 16;
            }
            acc = Fma.MultiplyAdd(groupAcc, Vector256.Create(scales[g]), acc);
        }
        return Vector256.Sum(acc) - ZeroPointTerm.Sum(scaleZeros, groupSums, groups);
    }
}
