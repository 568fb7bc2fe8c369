using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelBuild.Runtime.Kernels;

/// <summary>
/// One row of 3-bit codes (TensorLayout.ThreeBitAt: per chunk the low two bits as 2-bit codes plus a 16-byte plane of
/// high bits, chunks in 96-byte pairs) against one token's int8 activations in nibble order. The low bits unpack as in
/// <see cref="Int2GroupDot"/>; the plane's bits land at weight 4 of the same even/odd byte vectors (AVX-512: one
/// vpmultishiftqb per vector, VBMI; AVX2: a byte shuffle and a compare), after which the arithmetic is the int4
/// kernels'. Returns Σ_g scale_g · (Σ_{i∈g} q_i · x_i − zero_g · Σ_{i∈g} x_i).
/// </summary>
public static unsafe class Int3GroupDot
{
    public static bool HasAvx512 => Avx512Vbmi.IsSupported;

    // Compiled fully optimized from the start, as the int2 kernel (tiered compilation kept that one in slower code).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Avx512(byte* q, float* scales, float* scaleZeros, float* groupSums, int cols, int groupSize, sbyte* x, short* laneMultipliers, float unit)
    {
        int chunks = cols / 128;
        var groups = new ChunkGroups(groupSize);
        var selects = new Selects();
        var accA = Vector512<float>.Zero;
        var accB = Vector512<float>.Zero;
        int c = 0;
        for (; c + 1 < chunks; c += 2)
        {
            StreamPrefetch.Ahead(q);
            StreamPrefetch.Ahead(q + 64);
            var (evenA, oddA, evenB, oddB) = UnpackPair(q, selects);
            accA = Avx512F.FusedMultiplyAdd(Int4GroupDot.Avx512Chunk(evenA, oddA, x, laneMultipliers), Vector512.Create(scales[groups.Of(c)]), accA);
            accB = Avx512F.FusedMultiplyAdd(Int4GroupDot.Avx512Chunk(evenB, oddB, x + 128, laneMultipliers + 32), Vector512.Create(scales[groups.Of(c + 1)]), accB);
            q += 96;
            x += 256;
            laneMultipliers += 64;
        }
        if (c < chunks)
        {
            var (even, odd) = UnpackSingle(q, selects);
            accA = Avx512F.FusedMultiplyAdd(Int4GroupDot.Avx512Chunk(even, odd, x, laneMultipliers), Vector512.Create(scales[groups.Of(c)]), accA);
        }
        return LaneSums.Of(ZeroPointTerm.SubtractFrom((accA + accB) * unit, scaleZeros, groupSums, cols / groupSize));
    }

    /// <summary>Two rows against one token (decode's two streams; see <see cref="PairedRows"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Avx512Rows2(byte* q0, byte* q1, long rowBytes, int rows, float* scales0, float* scales1, float* scaleZeros0, float* scaleZeros1,
        float* groupSums, int cols, int groupSize, sbyte* x, short* laneMultipliers, float unit, float* y0, float* y1) =>
        PairedRows.Avx512(new PairCodes(), q0, q1, rowBytes, rows, scales0, scales1, scaleZeros0, scaleZeros1, groupSums, cols, groupSize, x, laneMultipliers, unit, y0, y1);

    /// <summary>3-bit codes for <see cref="PairedRows"/>: 96 bytes per chunk pair, the select vectors made once per call.</summary>
    private readonly struct PairCodes() : IChunkPairCodes
    {
        private readonly Selects _selects = new();

        public int PairBytes => 96;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (Vector512<byte> EvenA, Vector512<byte> OddA, Vector512<byte> EvenB, Vector512<byte> OddB) UnpackPair(byte* q) => Int3GroupDot.UnpackPair(q, _selects);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (Vector512<byte> Even, Vector512<byte> Odd) UnpackSingle(byte* q) => Int3GroupDot.UnpackSingle(q, _selects);
    }

    /// <summary>Four tokens against one row (prefill), each pair of chunks unpacked once; per token the same arithmetic as <see cref="Avx512"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Avx512Tokens4(byte* q, float* scales, float* scaleZeros, float* groupSums, int groupSumStride, int cols, int groupSize,
        sbyte* x, long xStride, short* laneMultipliers, long multiplierStride, float* units, float* results)
    {
        int chunks = cols / 128;
        var groups = new ChunkGroups(groupSize);
        var selects = new Selects();
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
        int c = 0;
        for (; c + 1 < chunks; c += 2)
        {
            StreamPrefetch.Ahead(q);
            StreamPrefetch.Ahead(q + 64);
            var (evenA, oddA, evenB, oddB) = UnpackPair(q, selects);
            Int4GroupDot.Accumulate4(evenA, oddA, scales[groups.Of(c)], x, xStride, laneMultipliers, multiplierStride, ref a0, ref a1, ref a2, ref a3);
            Int4GroupDot.Accumulate4(evenB, oddB, scales[groups.Of(c + 1)], x + 128, xStride, laneMultipliers + 32, multiplierStride, ref b0, ref b1, ref b2, ref b3);
            q += 96;
            x += 256;
            laneMultipliers += 64;
        }
        if (c < chunks)
        {
            var (even, odd) = UnpackSingle(q, selects);
            Int4GroupDot.Accumulate4(even, odd, scales[groups.Of(c)], x, xStride, laneMultipliers, multiplierStride, ref a0, ref a1, ref a2, ref a3);
        }
        Int4GroupDot.Finish4(a0 + b0, a1 + b1, a2 + b2, a3 + b3, scaleZeros, groupSums, groupSumStride, cols / groupSize, units, results);
    }

    /// <summary>A 96-byte chunk pair: low bits as in the int2 kernel, high bits from the planes at +64 and +80.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<byte> EvenA, Vector512<byte> OddA, Vector512<byte> EvenB, Vector512<byte> OddB) UnpackPair(byte* q, in Selects selects)
    {
        var (evenA, oddA, evenB, oddB) = Int2GroupDot.UnpackPair(q);
        var (highEvenA, highOddA) = HighBits(q + 64, selects);
        var (highEvenB, highOddB) = HighBits(q + 80, selects);
        return (evenA | highEvenA, oddA | highOddA, evenB | highEvenB, oddB | highOddB);
    }

    /// <summary>A last, unpaired chunk: 32 bytes of low bits, then its plane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<byte> Even, Vector512<byte> Odd) UnpackSingle(byte* q, in Selects selects)
    {
        var (e0, o0, e1, o1) = Int2GroupDot.Unpack(q);
        var (highEven, highOdd) = HighBits(q + 32, selects);
        return (Vector512.Create(e0, e1) | highEven, Vector512.Create(o0, o1) | highOdd);
    }

    /// <summary>
    /// A chunk's 16-byte plane as 4 or 0 per even and odd column: the two words in every 128-bit lane, each byte
    /// selecting the 8 bits that put its column's bit at position 2, then masked.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<byte> Even, Vector512<byte> Odd) HighBits(byte* plane, in Selects selects)
    {
        var words = Avx512F.BroadcastVector128ToVector512((uint*)plane).AsUInt64();
        var four = Vector512.Create((byte)4);
        return (Avx512Vbmi.MultiShift(selects.Even, words) & four, Avx512Vbmi.MultiShift(selects.Odd, words) & four);
    }

    /// <summary>The select vectors, made once per call and kept in registers (a kernel compiled fully optimized at once must not touch statics in its loop).</summary>
    private readonly struct Selects()
    {
        public readonly Vector512<byte> Even = EvenSelect, Odd = OddSelect;
    }

    // Lane e of the even (odd) vector is column 2e (2e+1), whose bit sits at 8·(e/16) + e mod 8 (+32 for odd) of word
    // (e/8) mod 2; selecting from two bits lower puts it at bit 2 (the select wraps around the word). Literal vectors,
    // not static readonly fields: the kernels are compiled fully optimized at once, before such fields would exist.
    private static Vector512<byte> EvenSelect => Vector512.Create(
        (byte)62, 63, 0, 1, 2, 3, 4, 5, 62, 63, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 22, 23, 24, 25, 26, 27, 28, 29);

    private static Vector512<byte> OddSelect => Vector512.Create(
        (byte)30, 31, 32, 33, 34, 35, 36, 37, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 54, 55, 56, 57, 58, 59, 60, 61);

    /// <summary>AVX2, with AVX-VNNI where the CPU has it (<see cref="ByteProducts"/>; identical results either way).</summary>
    public static float Avx2(byte* q, float* scales, float* scaleZeros, float* groupSums, int cols, int groupSize, sbyte* x, float* laneScales) =>
        Avx2(q, scales, scaleZeros, groupSums, cols, groupSize, x, laneScales, AvxVnni.IsSupported);

    /// <summary>The AVX2 kernel without AVX-VNNI, for comparison on CPUs that have it.</summary>
    internal static float Avx2WithoutVnni(byte* q, float* scales, float* scaleZeros, float* groupSums, int cols, int groupSize, sbyte* x, float* laneScales) =>
        Avx2(q, scales, scaleZeros, groupSums, cols, groupSize, x, laneScales, vnni: false);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Avx2(byte* q, float* scales, float* scaleZeros, float* groupSums, int cols, int groupSize, sbyte* x, float* laneScales, bool vnni)
    {
        var acc = Vector256<float>.Zero;
        int chunks = cols / 128;
        var groups = new ChunkGroups(groupSize);
        var four = Vector256.Create((byte)4);
        for (int c = 0; c < chunks; c++)
        {
            var (lowAt, planeAt) = Format.Pack.TensorLayout.ThreeBitChunkAt(c, chunks);
            byte* low = q + lowAt, plane = q + planeAt;
            StreamPrefetch.Ahead(low);
            var (e0, o0, e1, o1) = Int2GroupDot.Unpack(low);
            // Each lane's plane byte copied in by a shuffle, its bit tested against the lane's bit mask.
            var bits = Vector256.Create(Vector128.Load(plane));
            e0 |= Vector256.Equals(Avx2Shuffle(bits, PlaneByteEven0) & BitOfLane, BitOfLane) & four;
            o0 |= Vector256.Equals(Avx2Shuffle(bits, PlaneByteOdd0) & BitOfLane, BitOfLane) & four;
            e1 |= Vector256.Equals(Avx2Shuffle(bits, PlaneByteEven1) & BitOfLane, BitOfLane) & four;
            o1 |= Vector256.Equals(Avx2Shuffle(bits, PlaneByteOdd1) & BitOfLane, BitOfLane) & four;
            acc = Fma.MultiplyAdd(Int2GroupDot.Avx2Chunk(e0, o0, e1, o1, x, laneScales, vnni), Vector256.Create(scales[groups.Of(c)]), acc);
            x += 128;
            laneScales += 16;
        }
        return Vector256.Sum(acc) - ZeroPointTerm.Sum(scaleZeros, groupSums, cols / groupSize);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Avx2Shuffle(Vector256<byte> value, Vector256<byte> indices) => System.Runtime.Intrinsics.X86.Avx2.Shuffle(value, indices);

    /// <summary>Per lane of an AVX2 vector (even/odd columns, first/second 64 of the chunk): the plane byte holding its bit.</summary>
    private static readonly Vector256<byte> PlaneByteEven0 = PlaneBytes(odd: 0, firstLane: 0), PlaneByteOdd0 = PlaneBytes(1, 0),
        PlaneByteEven1 = PlaneBytes(0, 32), PlaneByteOdd1 = PlaneBytes(1, 32);

    private static readonly Vector256<byte> BitOfLane = Vector256.Create((byte)1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128,
        1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128);

    private static Vector256<byte> PlaneBytes(int odd, int firstLane)
    {
        var bytes = new byte[32];
        for (int i = 0; i < 32; i++)
        {
            int e = firstLane + i;
            bytes[i] = (byte)(8 * ((e >> 3) & 1) + 4 * odd + (e >> 4));
        }
        return Vector256.Create(bytes);
    }
}
