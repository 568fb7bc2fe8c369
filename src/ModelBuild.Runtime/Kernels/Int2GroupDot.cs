using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelBuild.Runtime.Kernels;

/// <summary>
/// One row of 2-bit codes (four per byte, 32 bytes per 128-column chunk, see TensorLayout.CodeAt) against one
/// token's int8 activations in the int4 kernels' nibble order: a chunk unpacks into the same even/odd byte vectors
/// <see cref="Int4GroupDot"/> makes from 64 bytes, so the arithmetic after unpacking is the same and half the bytes
/// are read. Returns Σ_g scale_g · (Σ_{i∈g} q_i · x_i − zero_g · Σ_{i∈g} x_i).
/// </summary>
public static unsafe class Int2GroupDot
{
    // Compiled fully optimized from the start: under tiered compilation this loop stayed in slower code for the
    // whole of a decode benchmark (25 vs 38 tok/s on the TinyLlama shape), unlike the int4 kernel.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Avx512(byte* q, float* scales, float* scaleZeros, float* groupSums, int cols, int groupSize, sbyte* x, short* laneMultipliers, float unit)
    {
        int chunks = cols / 128;
        var groups = new ChunkGroups(groupSize);
        var accA = Vector512<float>.Zero;
        var accB = Vector512<float>.Zero;
        int c = 0;
        for (; c + 1 < chunks; c += 2)
        {
            StreamPrefetch.Ahead(q);
            var (evenA, oddA, evenB, oddB) = UnpackPair(q);
            accA = Avx512F.FusedMultiplyAdd(Int4GroupDot.Avx512Chunk(evenA, oddA, x, laneMultipliers), Vector512.Create(scales[groups.Of(c)]), accA);
            accB = Avx512F.FusedMultiplyAdd(Int4GroupDot.Avx512Chunk(evenB, oddB, x + 128, laneMultipliers + 32), Vector512.Create(scales[groups.Of(c + 1)]), accB);
            q += 64;
            x += 256;
            laneMultipliers += 64;
        }
        if (c < chunks)
        {
            var (e0, o0, e1, o1) = Unpack(q);
            accA = Avx512F.FusedMultiplyAdd(Int4GroupDot.Avx512Chunk(Vector512.Create(e0, e1), Vector512.Create(o0, o1), x, laneMultipliers), Vector512.Create(scales[groups.Of(c)]), accA);
        }
        return LaneSums.Of(ZeroPointTerm.SubtractFrom((accA + accB) * unit, scaleZeros, groupSums, cols / groupSize));
    }

    /// <summary>Two rows against one token (decode's two streams; see <see cref="PairedRows"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Avx512Rows2(byte* q0, byte* q1, long rowBytes, int rows, float* scales0, float* scales1, float* scaleZeros0, float* scaleZeros1,
        float* groupSums, int cols, int groupSize, sbyte* x, short* laneMultipliers, float unit, float* y0, float* y1) =>
        PairedRows.Avx512(new PairCodes(), q0, q1, rowBytes, rows, scales0, scales1, scaleZeros0, scaleZeros1, groupSums, cols, groupSize, x, laneMultipliers, unit, y0, y1);

    /// <summary>2-bit codes for <see cref="PairedRows"/>: 64 bytes per chunk pair.</summary>
    private readonly struct PairCodes : IChunkPairCodes
    {
        public int PairBytes => 64;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (Vector512<byte> EvenA, Vector512<byte> OddA, Vector512<byte> EvenB, Vector512<byte> OddB) UnpackPair(byte* q) => Int2GroupDot.UnpackPair(q);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (Vector512<byte> Even, Vector512<byte> Odd) UnpackSingle(byte* q)
        {
            var (e0, o0, e1, o1) = Unpack(q);
            return (Vector512.Create(e0, e1), Vector512.Create(o0, o1));
        }
    }

    /// <summary>
    /// Two chunks in one 64-byte load: shift and mask the whole register, then gather each chunk's even columns
    /// (bits 0-1 of its bytes, then bits 4-5) and odd ones (2-3, then 6-7) with 128-bit lane shuffles.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static (Vector512<byte> EvenA, Vector512<byte> OddA, Vector512<byte> EvenB, Vector512<byte> OddB) UnpackPair(byte* q)
    {
        var mask = Vector512.Create((byte)3);
        var w = Vector512.Load(q).AsUInt16();
        var s0 = (w.AsByte() & mask).AsInt32();
        var s2 = (Vector512.ShiftRightLogical(w, 2).AsByte() & mask).AsInt32();
        var s4 = (Vector512.ShiftRightLogical(w, 4).AsByte() & mask).AsInt32();
        var s6 = (Vector512.ShiftRightLogical(w, 6).AsByte() & mask).AsInt32();
        return (Avx512F.Shuffle4x128(s0, s4, 0x44).AsByte(), Avx512F.Shuffle4x128(s2, s6, 0x44).AsByte(),
                Avx512F.Shuffle4x128(s0, s4, 0xEE).AsByte(), Avx512F.Shuffle4x128(s2, s6, 0xEE).AsByte());
    }

    /// <summary>Four tokens against one row (prefill), each pair of chunks unpacked once; per token the same arithmetic as <see cref="Avx512"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Avx512Tokens4(byte* q, float* scales, float* scaleZeros, float* groupSums, int groupSumStride, int cols, int groupSize,
        sbyte* x, long xStride, short* laneMultipliers, long multiplierStride, float* units, float* results)
    {
        int chunks = cols / 128;
        var groups = new ChunkGroups(groupSize);
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
        int c = 0;
        for (; c + 1 < chunks; c += 2)
        {
            StreamPrefetch.Ahead(q);
            var (evenA, oddA, evenB, oddB) = UnpackPair(q);
            Int4GroupDot.Accumulate4(evenA, oddA, scales[groups.Of(c)], x, xStride, laneMultipliers, multiplierStride, ref a0, ref a1, ref a2, ref a3);
            Int4GroupDot.Accumulate4(evenB, oddB, scales[groups.Of(c + 1)], x + 128, xStride, laneMultipliers + 32, multiplierStride, ref b0, ref b1, ref b2, ref b3);
            q += 64;
            x += 256;
            laneMultipliers += 64;
        }
        if (c < chunks)
        {
            var (e0, o0, e1, o1) = Unpack(q);
            Int4GroupDot.Accumulate4(Vector512.Create(e0, e1), Vector512.Create(o0, o1), scales[groups.Of(c)], x, xStride, laneMultipliers, multiplierStride, ref a0, ref a1, ref a2, ref a3);
        }
        Int4GroupDot.Finish4(a0 + b0, a1 + b1, a2 + b2, a3 + b3, scaleZeros, groupSums, groupSumStride, cols / groupSize, units, results);
    }

    /// <summary>32 bytes → even columns 0-62, odd 1-63, even 64-126, odd 65-127 (bits 0-1, 2-3, 4-5, 6-7).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static (Vector256<byte> E0, Vector256<byte> O0, Vector256<byte> E1, Vector256<byte> O1) Unpack(byte* q)
    {
        var mask = Vector256.Create((byte)3);
        var w = Vector256.Load(q).AsUInt16();
        return (w.AsByte() & mask, Vector256.ShiftRightLogical(w, 2).AsByte() & mask,
                Vector256.ShiftRightLogical(w, 4).AsByte() & mask, Vector256.ShiftRightLogical(w, 6).AsByte() & mask);
    }

    /// <summary>AVX2, with AVX-VNNI where the CPU has it (<see cref="ByteProducts"/>; identical results either way).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Avx2(byte* q, float* scales, float* scaleZeros, float* groupSums, int cols, int groupSize, sbyte* x, float* laneScales) =>
        Avx2(q, scales, scaleZeros, groupSums, cols, groupSize, x, laneScales, AvxVnni.IsSupported);

    /// <summary>The AVX2 kernel without AVX-VNNI, for comparison on CPUs that have it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float Avx2WithoutVnni(byte* q, float* scales, float* scaleZeros, float* groupSums, int cols, int groupSize, sbyte* x, float* laneScales) =>
        Avx2(q, scales, scaleZeros, groupSums, cols, groupSize, x, laneScales, vnni: false);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Avx2(byte* q, float* scales, float* scaleZeros, float* groupSums, int cols, int groupSize, sbyte* x, float* laneScales, bool vnni)
    {
        var acc = Vector256<float>.Zero;
        int chunks = cols / 128;
        var groups = new ChunkGroups(groupSize);
        for (int c = 0; c < chunks; c++)
        {
            StreamPrefetch.Ahead(q);
            var (e0, o0, e1, o1) = Unpack(q);
            acc = Fma.MultiplyAdd(Avx2Chunk(e0, o0, e1, o1, x, laneScales, vnni), Vector256.Create(scales[groups.Of(c)]), acc);
            q += 32;
            x += 128;
            laneScales += 16;
        }
        return Vector256.Sum(acc) - ZeroPointTerm.Sum(scaleZeros, groupSums, cols / groupSize);
    }

    /// <summary>One chunk's codes as 256-bit even/odd vectors (columns 0-63, then 64-127) against its activations in nibble order, lane scales applied.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Avx2Chunk(Vector256<byte> e0, Vector256<byte> o0, Vector256<byte> e1, Vector256<byte> o1, sbyte* x, float* laneScales, bool vnni)
    {
        // Half h covers nibble-order positions 32h… (even columns) and 64+32h… (odd), as the int4 AVX2 kernel.
        var lanes0 = ByteProducts.CodePairs(e0, Vector256.Load(x), o0, Vector256.Load(x + 64), vnni);
        var lanes1 = ByteProducts.CodePairs(e1, Vector256.Load(x + 32), o1, Vector256.Load(x + 96), vnni);
        return Avx.Multiply(Avx.ConvertToVector256Single(lanes0), Vector256.Load(laneScales))
             + Avx.Multiply(Avx.ConvertToVector256Single(lanes1), Vector256.Load(laneScales + 8));
    }
}
