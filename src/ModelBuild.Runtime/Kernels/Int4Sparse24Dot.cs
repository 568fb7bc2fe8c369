using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelBuild.Runtime.Kernels;

/// <summary>
/// One row of 2:4-packed 4-bit codes (48 bytes per 128-column chunk, see Format.Pack.Sparse24Layout) against one
/// token's int8 activations in natural order. Per chunk the 64 kept codes and their positions unpack with a broadcast,
/// a per-lane shift and a mask; one AVX-512 VBMI byte permute (vpermi2b) gathers the 64 activations they multiply,
/// so a chunk costs one vpmaddubsw pair where the dense kernel needs two, for ¾ of the bytes. The zero point is
/// subtracted in the same 16-bit lanes (Σ (q − z)·x over the kept columns; pruned ones are exactly zero), so no
/// per-group activation sums are needed. Returns Σ_g scale_g · Σ_{kept i∈g} (q_i − zero_g) · x_i.
/// </summary>
public static unsafe class Int4Sparse24Dot
{
    public static bool IsSupported => Avx512Vbmi.IsSupported && Avx512BW.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Avx512(byte* q, float* scales, byte* zeros, int cols, int groupSize, sbyte* x, float* laneScales)
    {
        int chunks = cols / 128, perGroup = groupSize / 128;
        var accA = Vector512<float>.Zero;
        var accB = Vector512<float>.Zero;
        int c = 0;
        for (; c + 1 < chunks; c += 2)
        {
            StreamPrefetch.Ahead(q);
            StreamPrefetch.Ahead(q + 64);
            var (codesA, positionsA) = Unpack(q);
            var (codesB, positionsB) = Unpack(q + 48);
            accA = Avx512F.FusedMultiplyAdd(Chunk(codesA, positionsA, zeros[c / perGroup], x, laneScales), Vector512.Create(scales[c / perGroup]), accA);
            accB = Avx512F.FusedMultiplyAdd(Chunk(codesB, positionsB, zeros[(c + 1) / perGroup], x + 128, laneScales + 16), Vector512.Create(scales[(c + 1) / perGroup]), accB);
            q += 96;
            x += 256;
            laneScales += 32;
        }
        if (c < chunks)
        {
            var (codes, positions) = Unpack(q);
            accA = Avx512F.FusedMultiplyAdd(Chunk(codes, positions, zeros[c / perGroup], x, laneScales), Vector512.Create(scales[c / perGroup]), accA);
        }
        return Vector512.Sum(accA + accB);
    }

    /// <summary>A chunk's 64 kept codes (byte k = code k) and the columns 0-127 they sit in (4·(k/2) + position).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<byte> Codes, Vector512<byte> Columns) Unpack(byte* q)
    {
        // Codes: the 32 bytes in both halves, the upper half shifted down a nibble. Positions: the 16 bytes in all
        // four 128-bit lanes, lane m shifted down 2m bits.
        var codeBytes = Avx512F.BroadcastVector256ToVector512((ulong*)q);
        var codes = Avx512F.ShiftRightLogicalVariable(codeBytes, Vector512.Create(0UL, 0, 0, 0, 4, 4, 4, 4)).AsByte() & Vector512.Create((byte)0x0F);
        var positionBytes = Avx512F.BroadcastVector128ToVector512((uint*)(q + 32)).AsUInt16();
        var positions = Avx512BW.ShiftRightLogicalVariable(positionBytes, LaneShifts).AsByte() & Vector512.Create((byte)3);
        return (codes, positions + QuadStarts);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Chunk(Vector512<byte> codes, Vector512<byte> columns, byte zero, sbyte* x, float* laneScales)
    {
        var gathered = Avx512Vbmi.PermuteVar64x8x2(Vector512.Load(x), columns.AsSByte(), Vector512.Load(x + 64));
        // Both products fit 16 bits (15 · 127 · 2), and so does their difference.
        var pairs = Avx512BW.MultiplyAddAdjacent(codes, gathered) - Avx512BW.MultiplyAddAdjacent(Vector512.Create(zero), gathered);
        var lanes = Avx512BW.MultiplyAddAdjacent(pairs, Vector512.Create((short)1));
        // Lane j sums kept codes 4j..4j+3, columns 8j..8j+7: the same activation block as the int4 kernels' lane j.
        return Avx512F.Multiply(Avx512F.ConvertToVector512Single(lanes), Vector512.Load(laneScales));
    }

    /// <summary>Per 16-bit word: 2m in 128-bit lane m.</summary>
    private static readonly Vector512<ushort> LaneShifts = Vector512.Create(
        Vector256.Create(Vector128.Create((ushort)0), Vector128.Create((ushort)2)), Vector256.Create(Vector128.Create((ushort)4), Vector128.Create((ushort)6)));

    private static readonly Vector512<byte> QuadStarts = QuadStartVector();

    private static Vector512<byte> QuadStartVector()
    {
        var starts = new byte[64];
        for (int k = 0; k < 64; k++) starts[k] = (byte)(4 * (k / 2));
        return Vector512.Create(starts);
    }
}
