namespace ModelBuild.Format.Pack;

/// <summary>
/// Group-quantized weights pruned 2:4 (format "gq24"): of every four consecutive columns only two codes are stored,
/// each with its 2-bit position in the quad; the other two weights are zero (their code is the group's zero point).
/// Each 128-column chunk of a row takes 48 bytes in one stream: 32 bytes of codes (byte j holds kept code j in its
/// low nibble and kept code j+32 in its high one) and 16 bytes of positions, two 64-bit words: the positions of kept
/// codes 8Q..8Q+7 lie in word Q mod 2, at bit 16·(Q/2) + 2i for code 8Q+i. Kept code k of a chunk belongs to
/// quad k/2. The order lets a SIMD kernel unpack a chunk's 64 codes with a broadcast, a per-half shift and a mask,
/// and its 64 positions with a 128-bit broadcast and one bit-field select per byte (vpmultishiftqb).
/// 3 bits per weight plus scales, against 4 for dense 4-bit codes. Unquantized weights pruned 2:4 (format "f16s24")
/// take 144 bytes per chunk: the 64 kept values as f16 (value k at byte 2k), then the same 16 bytes of positions;
/// 9 bits per weight against 16.
/// </summary>
public static class Sparse24Layout
{
    public const int ChunkColumns = 128, ChunkBytes = 48, CodeBytes = 32, HalfChunkBytes = 144, HalfValueBytes = 128;

    public static long RowBytes(long cols) => cols / ChunkColumns * ChunkBytes;

    public static long HalfRowBytes(long cols) => cols / ChunkColumns * HalfChunkBytes;

    /// <summary>Whether a [rows, cols] tensor with these parameters can use this layout: 4-bit slots, whole chunks per group.</summary>
    public static bool Supports(int bits, long cols, int groupSize) =>
        bits is >= 2 and <= 4 && cols % ChunkColumns == 0 && groupSize > 0 && groupSize % ChunkColumns == 0 && cols % groupSize == 0;

    /// <summary>Byte and shift of kept code <paramref name="k"/> (0-63) within its chunk; the mask is 0xF.</summary>
    public static (int Byte, int Shift) CodeAt(int k) => (k & 31, (k >> 5) * 4);

    /// <summary>Byte and shift of kept code <paramref name="k"/>'s position within its chunk; the mask is 0x3.</summary>
    public static (int Byte, int Shift) PositionAt(int k)
    {
        var (at, shift) = PositionInBlock(k);
        return (CodeBytes + at, shift);
    }

    /// <summary>Byte (0-15) and shift of kept value <paramref name="k"/>'s position within a 16-byte position block.</summary>
    public static (int Byte, int Shift) PositionInBlock(int k)
    {
        int word = (k >> 3) & 1, bit = 16 * (k >> 4) + 2 * (k & 7);
        return (8 * word + bit / 8, bit % 8);
    }

    /// <summary>
    /// Packs a row-major [rows, cols] code matrix (one code per byte) whose every quad has at most two codes that
    /// differ from their group's zero point; null when some quad has more, so the caller keeps the dense layout.
    /// </summary>
    public static byte[]? TryPack(ReadOnlySpan<byte> codes, ReadOnlySpan<byte> zeros, int rows, int cols, int groupSize)
    {
        var packed = new byte[rows * RowBytes(cols)];
        int groups = cols / groupSize;
        for (int r = 0; r < rows; r++)
            for (int quad = 0; quad < cols / 4; quad++)
            {
                int c0 = quad * 4;
                byte zero = zeros[r * groups + c0 / groupSize];
                var row = codes.Slice(r * cols + c0, 4);
                int mask = (row[0] != zero ? 1 : 0) | (row[1] != zero ? 2 : 0) | (row[2] != zero ? 4 : 0) | (row[3] != zero ? 8 : 0);
                if (!KeptPair(mask, out int first, out int second)) return null;
                long chunk = r * RowBytes(cols) + (c0 / ChunkColumns) * ChunkBytes;
                for (int j = 0; j < 2; j++)
                {
                    int k = (quad % (ChunkColumns / 4)) * 2 + j, position = j == 0 ? first : second;
                    var (cb, cs) = CodeAt(k);
                    var (pb, ps) = PositionAt(k);
                    packed[chunk + cb] |= (byte)(row[position] << cs);
                    packed[chunk + pb] |= (byte)(position << ps);
                }
            }
        return packed;
    }

    /// <summary>Packs a row-major [rows, cols] f16 matrix with at most two non-zero values in every quad; null otherwise.</summary>
    public static byte[]? TryPackHalf(ReadOnlySpan<Half> values, int rows, int cols)
    {
        var packed = new byte[rows * HalfRowBytes(cols)];
        for (int r = 0; r < rows; r++)
            for (int quad = 0; quad < cols / 4; quad++)
            {
                var row = values.Slice(r * cols + quad * 4, 4);
                int mask = 0;
                for (int i = 0; i < 4; i++) mask |= row[i] == Half.Zero ? 0 : 1 << i;
                if (!KeptPair(mask, out int first, out int second)) return null;
                long chunk = r * HalfRowBytes(cols) + (quad * 4 / ChunkColumns) * HalfChunkBytes;
                for (int j = 0; j < 2; j++)
                {
                    int k = (quad % (ChunkColumns / 4)) * 2 + j, position = j == 0 ? first : second;
                    BitConverter.TryWriteBytes(packed.AsSpan((int)(chunk + 2 * k), 2), BitConverter.HalfToUInt16Bits(row[position]));
                    var (pb, ps) = PositionInBlock(k);
                    packed[chunk + HalfValueBytes + pb] |= (byte)(position << ps);
                }
            }
        return packed;
    }

    /// <summary>
    /// The two positions (ascending, distinct) a quad stores: its non-zero ones (bits of <paramref name="nonZero"/>),
    /// filled up with zero-valued ones; false when more than two are non-zero.
    /// </summary>
    private static bool KeptPair(int nonZero, out int first, out int second)
    {
        Span<int> kept = stackalloc int[2];
        int n = 0;
        for (int i = 0; i < 4; i++)
            if ((nonZero >> i & 1) != 0)
            {
                if (n == 2) { first = second = 0; return false; }
                kept[n++] = i;
            }
        for (int i = 0; n < 2; i++)
            if (n == 0 || kept[0] != i) kept[n++] = i;
        (first, second) = kept[0] < kept[1] ? (kept[0], kept[1]) : (kept[1], kept[0]);
        return true;
    }
}
