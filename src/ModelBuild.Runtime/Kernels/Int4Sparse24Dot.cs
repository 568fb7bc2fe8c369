using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelBuild.Runtime.Kernels;

/// <summary>
/// One row of 2:4-packed 4-bit codes (48 bytes per 128-column chunk, see Format.Pack.Sparse24Layout) against one
/// token's int8 activations in natural order (ActivationBatch.Codes). Per chunk the 64 kept codes and their columns
/// unpack with broadcasts, a bit-field select (AVX-512 VBMI) and masks; one two-table byte permute (vpermi2b) over the
/// chunk's 128 activations gathers the 64 they multiply, so a chunk costs one vpmaddubsw pair where the dense kernel
/// needs two, for ¾ of the bytes. (On the Zen 5 host vpermi2b ran 0.91× the time of the two in-lane shuffles and blend
/// it replaced, from L2; an earlier host had measured it 1.7× slower.) The zero point is
/// subtracted in the same 16-bit lanes (Σ (q − z)·x over the kept columns; pruned ones are exactly zero), so no
/// per-group activation sums are needed. Returns Σ_g scale_g · Σ_{kept i∈g} (q_i − zero_g) · x_i.
/// </summary>
public static unsafe class Int4Sparse24Dot
{
    public static float Avx512(byte* q, float* scales, byte* zeros, int cols, int groupSize, sbyte* x, short* laneMultipliers, float unit)
    {
        int chunks = cols / 128;
        var groups = new ChunkGroups(groupSize);
        var accA = Vector512<float>.Zero;
        var accB = Vector512<float>.Zero;
        int c = 0;
        for (; c + 1 < chunks; c += 2)
        {
            StreamPrefetch.Ahead(q);
            StreamPrefetch.Ahead(q + 64);
            var (codesA, positionsA) = Unpack(q);
            var (codesB, positionsB) = Unpack(q + 48);
            accA = Avx512F.FusedMultiplyAdd(Chunk(codesA, positionsA, zeros[groups.Of(c)], x, laneMultipliers), Vector512.Create(scales[groups.Of(c)]), accA);
            accB = Avx512F.FusedMultiplyAdd(Chunk(codesB, positionsB, zeros[groups.Of(c + 1)], x + 128, laneMultipliers + 32), Vector512.Create(scales[groups.Of(c + 1)]), accB);
            q += 96;
            x += 256;
            laneMultipliers += 64;
        }
        if (c < chunks)
        {
            var (codes, positions) = Unpack(q);
            accA = Avx512F.FusedMultiplyAdd(Chunk(codes, positions, zeros[groups.Of(c)], x, laneMultipliers), Vector512.Create(scales[groups.Of(c)]), accA);
        }
        return LaneSums.Of((accA + accB) * unit);
    }

    /// <summary>
    /// Decode's two streams, a tile at a time: rows i = 0 .. <paramref name="rows"/> − 1 at q0 and q1 + i·rowBytes (scales at
    /// + i·groups, results to y[i]), each chunk pair's activations and lane multipliers loaded once for both rows. Per row the
    /// arithmetic is exactly <see cref="Avx512"/>'s, so results are identical.
    /// </summary>
    public static void Avx512Rows2(byte* q0, byte* q1, long rowBytes, int rows, float* scales0, float* scales1, byte* zeros0, byte* zeros1,
        int cols, int groupSize, sbyte* x, short* laneMultipliers, float unit, float* y0, float* y1)
    {
        int groups = cols / groupSize;
        for (int i = 0; i < rows; i++)
            Rows2(q0 + i * rowBytes, q1 + i * rowBytes, scales0 + i * groups, scales1 + i * groups, zeros0 + i * groups, zeros1 + i * groups,
                cols, groupSize, x, laneMultipliers, unit, y0 + i, y1 + i);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rows2(byte* q0, byte* q1, float* scales0, float* scales1, byte* zeros0, byte* zeros1, int cols, int groupSize,
        sbyte* x, short* laneMultipliers, float unit, float* result0, float* result1)
    {
        int chunks = cols / 128;
        var groups = new ChunkGroups(groupSize);
        Vector512<float> a0 = default, b0 = default, a1 = default, b1 = default;
        int c = 0;
        for (; c + 1 < chunks; c += 2)
        {
            StreamPrefetch.Ahead(q0);
            StreamPrefetch.Ahead(q1);
            StreamPrefetch.Ahead(q0 + 64);
            StreamPrefetch.Ahead(q1 + 64);
            int gA = groups.Of(c), gB = groups.Of(c + 1);
            var (xA, xA2, lanesA) = (Vector512.Load(x), Vector512.Load(x + 64), Vector512.Load(laneMultipliers));
            var (xB, xB2, lanesB) = (Vector512.Load(x + 128), Vector512.Load(x + 192), Vector512.Load(laneMultipliers + 32));
            var (codesA, positionsA) = Unpack(q0);
            var (codesB, positionsB) = Unpack(q0 + 48);
            a0 = Avx512F.FusedMultiplyAdd(Chunk(codesA, positionsA, zeros0[gA], xA, xA2, lanesA), Vector512.Create(scales0[gA]), a0);
            b0 = Avx512F.FusedMultiplyAdd(Chunk(codesB, positionsB, zeros0[gB], xB, xB2, lanesB), Vector512.Create(scales0[gB]), b0);
            (codesA, positionsA) = Unpack(q1);
            (codesB, positionsB) = Unpack(q1 + 48);
            a1 = Avx512F.FusedMultiplyAdd(Chunk(codesA, positionsA, zeros1[gA], xA, xA2, lanesA), Vector512.Create(scales1[gA]), a1);
            b1 = Avx512F.FusedMultiplyAdd(Chunk(codesB, positionsB, zeros1[gB], xB, xB2, lanesB), Vector512.Create(scales1[gB]), b1);
            q0 += 96;
            q1 += 96;
            x += 256;
            laneMultipliers += 64;
        }
        if (c < chunks)
        {
            int g = groups.Of(c);
            var (codes, positions) = Unpack(q0);
            a0 = Avx512F.FusedMultiplyAdd(Chunk(codes, positions, zeros0[g], x, laneMultipliers), Vector512.Create(scales0[g]), a0);
            (codes, positions) = Unpack(q1);
            a1 = Avx512F.FusedMultiplyAdd(Chunk(codes, positions, zeros1[g], x, laneMultipliers), Vector512.Create(scales1[g]), a1);
        }
        (*result0, *result1) = LaneSums.Of((a0 + b0) * unit, (a1 + b1) * unit);
    }

    /// <summary>
    /// Four tokens against one row (prefill): each chunk's codes and columns are unpacked once for all four. Per token
    /// the arithmetic is exactly <see cref="Avx512"/>'s (same chunk pairing and accumulators), so results are identical.
    /// </summary>
    public static void Avx512Tokens4(byte* q, float* scales, byte* zeros, int cols, int groupSize, sbyte* x, long xStride,
        short* laneMultipliers, long multiplierStride, float* units, float* results)
    {
        int chunks = cols / 128;
        var groups = new ChunkGroups(groupSize);
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
        int c = 0;
        for (; c + 1 < chunks; c += 2)
        {
            StreamPrefetch.Ahead(q);
            StreamPrefetch.Ahead(q + 64);
            var (codes, columns) = Unpack(q);
            Accumulate4(codes, columns, zeros[groups.Of(c)], scales[groups.Of(c)], x, xStride, laneMultipliers, multiplierStride, ref a0, ref a1, ref a2, ref a3);
            (codes, columns) = Unpack(q + 48);
            Accumulate4(codes, columns, zeros[groups.Of(c + 1)], scales[groups.Of(c + 1)], x + 128, xStride, laneMultipliers + 32, multiplierStride, ref b0, ref b1, ref b2, ref b3);
            q += 96;
            x += 256;
            laneMultipliers += 64;
        }
        if (c < chunks)
        {
            var (codes, columns) = Unpack(q);
            Accumulate4(codes, columns, zeros[groups.Of(c)], scales[groups.Of(c)], x, xStride, laneMultipliers, multiplierStride, ref a0, ref a1, ref a2, ref a3);
        }
        (results[0], results[1]) = LaneSums.Of((a0 + b0) * units[0], (a1 + b1) * units[1]);
        (results[2], results[3]) = LaneSums.Of((a2 + b2) * units[2], (a3 + b3) * units[3]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Accumulate4(Vector512<byte> codes, Vector512<byte> columns, byte zero, float scale, sbyte* x, long xStride,
        short* laneMultipliers, long multiplierStride, ref Vector512<float> r0, ref Vector512<float> r1, ref Vector512<float> r2, ref Vector512<float> r3)
    {
        var s = Vector512.Create(scale);
        r0 = Avx512F.FusedMultiplyAdd(Chunk(codes, columns, zero, x, laneMultipliers), s, r0);
        r1 = Avx512F.FusedMultiplyAdd(Chunk(codes, columns, zero, x + xStride, laneMultipliers + multiplierStride), s, r1);
        r2 = Avx512F.FusedMultiplyAdd(Chunk(codes, columns, zero, x + 2 * xStride, laneMultipliers + 2 * multiplierStride), s, r2);
        r3 = Avx512F.FusedMultiplyAdd(Chunk(codes, columns, zero, x + 3 * xStride, laneMultipliers + 3 * multiplierStride), s, r3);
    }

    /// <summary>A chunk's 64 kept codes (byte k = code k) and the columns 0-127 they sit in (4·(k/2) + position).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<byte> Codes, Vector512<byte> Columns) Unpack(byte* q)
    {
        // The 32 code bytes in both halves: low nibbles in the lower half, high nibbles in the upper. One GF(2) affine
        // transform per byte does both (a bit-selection matrix per 64-bit lane) instead of a shift and a mask; the
        // kernel is bound by its operation count, and this one fewer measured 3–8 % faster from L2.
        var codeBytes = Avx512F.BroadcastVector256ToVector512((ulong*)q);
        var codes = Gfni.V512.IsSupported
            ? Gfni.V512.GaloisFieldAffineTransform(codeBytes.AsByte(), NibbleSelect, 0)
            : Avx512F.ShiftRightLogicalVariable(codeBytes, Vector512.Create(0UL, 0, 0, 0, 4, 4, 4, 4)).AsByte() & Vector512.Create((byte)0x0F);
        return (codes, Sparse24Columns.Unpack(q + 32));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Chunk(Vector512<byte> codes, Vector512<byte> columns, byte zero, sbyte* x, short* laneMultipliers) =>
        Chunk(codes, columns, zero, Vector512.Load(x), Vector512.Load(x + 64), Vector512.Load(laneMultipliers));

    /// <summary>
    /// The same with the chunk's activations (columns 0-63 and 64-127) and lane multipliers already in registers. A 16-bit
    /// lane j holds kept codes 2j and 2j+1, of columns 4j .. 4j+3, so the int4 kernels' multipliers weight it
    /// (<see cref="Int4GroupDot.Avx512Chunk(Vector512{byte}, Vector512{byte}, Vector512{sbyte}, Vector512{sbyte}, Vector512{short})"/>):
    /// 2 · 15 · 127 · 2 · 32767 &lt; 2³¹.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Chunk(Vector512<byte> codes, Vector512<byte> columns, byte zero, Vector512<sbyte> x, Vector512<sbyte> x2,
        Vector512<short> laneMultipliers)
    {
        // Byte k takes column columns[k] (0-127) of the two registers read as one 128-byte table.
        var gathered = Avx512Vbmi.PermuteVar64x8x2(x, columns.AsSByte(), x2);
        // Both products fit 16 bits (15 · 127 · 2), and so does their difference.
        var pairs = Avx512BW.MultiplyAddAdjacent(codes, gathered) - Avx512BW.MultiplyAddAdjacent(Vector512.Create(zero), gathered);
        return Avx512F.ConvertToVector512Single(Avx512BW.MultiplyAddAdjacent(pairs, laneMultipliers));
    }

    /// <summary>
    /// Per 64-bit lane, the matrix of vgf2p8affineqb (byte 7 − i selects the input bits of output bit i): the low
    /// nibble in place for lanes 0–3, the high nibble moved down for lanes 4–7; the upper output bits are zero.
    /// </summary>
    private static readonly Vector512<byte> NibbleSelect = Vector512.Create(
        0x0102040800000000UL, 0x0102040800000000UL, 0x0102040800000000UL, 0x0102040800000000UL,
        0x1020408000000000UL, 0x1020408000000000UL, 0x1020408000000000UL, 0x1020408000000000UL).AsByte();
}
