namespace ModelBuild.Format.Pack;

/// <summary>
/// Group-quantized weights pruned 2:4 (format "gq24"): of every four consecutive columns only two codes are stored,
/// each with its 2-bit position in the quad; the other two weights are zero (their code is the group's zero point).
/// Each 128-column chunk of a row takes 48 bytes in one stream: 32 bytes of codes (byte j holds kept code j in its
/// low nibble and kept code j+32 in its high one) and 16 bytes of positions, two 64-bit words: the positions of kept
/// codes 8Q..8Q+7 lie in word Q mod 2, at bit 16·(Q/2) + 2i for code 8Q+i. Kept code k of a chunk belongs to
/// quad k/2. The order lets a SIMD kernel unpack a chunk's 64 codes with a broadcast, a per-half shift and a mask,
/// and its 64 positions with a 128-bit broadcast and one bit-field select per byte (vpmultishiftqb).
/// 3 bits per weight plus scales, against 4 for dense 4-bit codes.
/// </summary>
public static class Sparse24Layout
{
    public const int ChunkColumns = 128, ChunkBytes = 48, CodeBytes = 32;

    public static long RowBytes(long cols) => cols / ChunkColumns * ChunkBytes;

    /// <summary>Whether a [rows, cols] tensor with these parameters can use this layout: 4-bit slots, whole chunks per group.</summary>
    public static bool Supports(int bits, long cols, int groupSize) =>
        bits is >= 2 and <= 4 && cols % ChunkColumns == 0 && groupSize > 0 && groupSize % ChunkColumns == 0 && cols % groupSize == 0;

    /// <summary>Byte and shift of kept code <paramref name="k"/> (0-63) within its chunk; the mask is 0xF.</summary>
    public static (int Byte, int Shift) CodeAt(int k) => (k & 31, (k >> 5) * 4);

    /// <summary>Byte and shift of kept code <paramref name="k"/>'s position within its chunk; the mask is 0x3.</summary>
    public static (int Byte, int Shift) PositionAt(int k)
    {
        int word = (k >> 3) & 1, bit = 16 * (k >> 4) + 2 * (k & 7);
        return (CodeBytes + 8 * word + bit / 8, bit % 8);
    }

    /// <summary>
    /// Packs a row-major [rows, cols] code matrix (one code per byte) whose every quad has at most two codes that
    /// differ from their group's zero point; null when some quad has more, so the caller keeps the dense layout.
    /// </summary>
    public static byte[]? TryPack(ReadOnlySpan<byte> codes, ReadOnlySpan<byte> zeros, int rows, int cols, int groupSize)
    {
        long rowBytes = RowBytes(cols);
        int groups = cols / groupSize;
        var packed = new byte[rows * rowBytes];
        Span<int> kept = stackalloc int[2];
        for (int r = 0; r < rows; r++)
            for (int quad = 0; quad < cols / 4; quad++)
            {
                int c0 = quad * 4;
                byte zero = zeros[r * groups + c0 / groupSize];
                int n = 0;
                for (int i = 0; i < 4; i++)
                    if (codes[r * cols + c0 + i] != zero)
                    {
                        if (n == 2) return null;
                        kept[n++] = i;
                    }
                // Fill up with zero-valued positions so every quad stores two distinct, ascending positions.
                for (int i = 0; n < 2; i++)
                    if (n == 0 || kept[0] != i) kept[n++] = i;
                if (kept[0] > kept[1]) (kept[0], kept[1]) = (kept[1], kept[0]);
                long chunk = r * rowBytes + (c0 / ChunkColumns) * ChunkBytes;
                for (int j = 0; j < 2; j++)
                {
                    int k = (quad % (ChunkColumns / 4)) * 2 + j;
                    var (cb, cs) = CodeAt(k);
                    var (pb, ps) = PositionAt(k);
                    packed[chunk + cb] |= (byte)(codes[r * cols + c0 + kept[j]] << cs);
                    packed[chunk + pb] |= (byte)(kept[j] << ps);
                }
            }
        return packed;
    }
}
