namespace ModelBuild.Format.Pack;

/// <summary>The byte sizes each tensor format implies, checked against the manifest so a reader never trusts declared sizes.</summary>
public static class TensorLayout
{
    public const string F32 = "f32";
    public const string F16 = "f16";
    /// <summary>bfloat16 (<see cref="BFloat16Bits"/>): a bf16 checkpoint's unquantized tensors, or f32 ones beyond f16's range.</summary>
    public const string BF16 = "bf16";
    public const string GroupQuantized = "gq";
    /// <summary>Group-quantized and pruned 2:4, two codes of every four columns stored (<see cref="Sparse24Layout"/>).</summary>
    public const string GroupQuantizedSparse24 = "gq24";
    /// <summary>f16 weights pruned 2:4, two values of every four columns stored (<see cref="Sparse24Layout"/>).</summary>
    public const string F16Sparse24 = "f16s24";

    /// <summary>
    /// Bits per stored code: 2- and 3-bit codes take exactly their bits when rows are whole 128-column chunks (see
    /// <see cref="CodeAt"/> and <see cref="ThreeBitAt"/>); in other widths they sit in 4-bit slots like 4-bit codes;
    /// 8-bit codes in bytes.
    /// </summary>
    public static int ContainerBits(int bits, long cols) => bits is 2 or 3 && cols % 128 == 0 ? bits : bits <= 4 ? 4 : 8;

    public static long PackedRowBytes(long cols, int bits) => (cols * ContainerBits(bits, cols) + 7) / 8;

    /// <summary>
    /// Where column <paramref name="col"/>'s code sits in its row. 4-bit slots: byte col/2, low nibble for even
    /// columns. 2-bit: each 128-column chunk takes 32 bytes; byte j holds columns 2j, 2j+1, 2j+64, 2j+65 in bits
    /// 0-1, 2-3, 4-5, 6-7 — the same even/odd split the int4 kernels use, so both share one activation order.
    /// </summary>
    public static (long Byte, int Shift, int Mask) CodeAt(long col, int containerBits)
    {
        if (containerBits == 8) return (col, 0, 0xFF);
        if (containerBits == 4) return (col >> 1, (int)(col & 1) * 4, 0xF);
        long pair = (col & 127) >> 1;
        return ((col >> 7) * 32 + (pair & 31), (int)(col & 1) * 2 + (int)(pair >> 5) * 4, 0x3);
    }

    /// <summary>A row-major [rows, cols] matrix of codes (one per byte) as "gq" stores it: 8-bit as is, else per <see cref="CodeAt"/>.</summary>
    public static byte[] PackCodes(ReadOnlySpan<byte> codes, int rows, int cols, int bits)
    {
        if (bits == 8) return codes.ToArray();
        int container = ContainerBits(bits, cols);
        long rowBytes = PackedRowBytes(cols, bits);
        var packed = new byte[rows * rowBytes];
        for (long r = 0; r < rows; r++)
            for (long c = 0; c < cols; c++)
            {
                int code = codes[(int)(r * cols + c)];
                if (container == 3)
                {
                    var (low, lowShift, high, highShift) = ThreeBitAt(c, cols);
                    packed[r * rowBytes + low] |= (byte)((code & 3) << lowShift);
                    packed[r * rowBytes + high] |= (byte)((code >> 2) << highShift);
                }
                else
                {
                    var (at, shift, _) = CodeAt(c, container);
                    packed[r * rowBytes + at] |= (byte)(code << shift);
                }
            }
        return packed;
    }

    /// <summary>
    /// 3-bit codes: per 128-column chunk, the low two bits as 2-bit codes (32 bytes, <see cref="CodeAt"/>) and the high
    /// bits as a 16-byte plane. Chunks go in pairs, 96 bytes: both low parts, then both planes (a last odd chunk: its
    /// low part, then its plane), so a kernel loads two low parts in one 64-byte read. In a plane, column c's bit
    /// (e = (c mod 128) / 2, odd = c mod 2) lies in 64-bit word (e / 8) mod 2 at bit 32·odd + 8·(e / 16) + e mod 8: the
    /// bits of each 8 consecutive even (or odd) columns form one byte, which one vpmultishiftqb selects per lane.
    /// </summary>
    public static (long LowByte, int LowShift, long HighByte, int HighShift) ThreeBitAt(long col, long cols)
    {
        var (lowStart, plane) = ThreeBitChunkAt(col >> 7, cols >> 7);
        var (low, lowShift, _) = CodeAt(col & 127, 2);
        long e = (col & 127) >> 1;
        long bit = 32 * (col & 1) + 8 * (e >> 4) + (e & 7);
        return (lowStart + low, lowShift, plane + 8 * ((e >> 3) & 1) + bit / 8, (int)(bit % 8));
    }

    /// <summary>Where chunk <paramref name="chunk"/> of a 3-bit row of <paramref name="chunks"/> chunks keeps its 32 bytes of low bits and its 16-byte plane.</summary>
    public static (long Low, long Plane) ThreeBitChunkAt(long chunk, long chunks)
    {
        long pairStart = (chunk >> 1) * 96;
        bool single = chunk == chunks - 1 && chunks % 2 == 1;
        return (pairStart + (chunk & 1) * 32, pairStart + (single ? 32 : 64 + (chunk & 1) * 16));
    }

    /// <summary>The code of column <paramref name="col"/> in a packed row of <paramref name="cols"/> columns.</summary>
    public static int ReadCode(ReadOnlySpan<byte> row, long col, int containerBits, long cols)
    {
        if (containerBits != 3)
        {
            var (at, shift, mask) = CodeAt(col, containerBits);
            return (row[(int)at] >> shift) & mask;
        }
        var (low, lowShift, high, highShift) = ThreeBitAt(col, cols);
        return ((row[(int)low] >> lowShift) & 3) | ((row[(int)high] >> highShift) & 1) << 2;
    }

    public static Dictionary<string, long> ExpectedPartLengths(TensorEntry t)
    {
        long count = t.Shape.Aggregate(1L, (a, b) => checked(a * b));
        switch (t.Format)
        {
            case F32: return new() { ["data"] = count * 4 };
            case F16 or BF16: return new() { ["data"] = count * 2 };
            case F16Sparse24:
                if (t.Shape.Length != 2 || t.Shape[1] % Sparse24Layout.ChunkColumns != 0)
                    throw new InvalidDataException("2:4-packed f16 tensors must be 2-D with whole 128-column chunks.");
                return new() { ["data"] = t.Shape[0] * Sparse24Layout.HalfRowBytes(t.Shape[1]) };
            case GroupQuantized or GroupQuantizedSparse24:
                if (t.Shape.Length != 2) throw new InvalidDataException("group-quantized tensors must be 2-D.");
                if (t.Bits is not (2 or 3 or 4 or 8)) throw new InvalidDataException($"{t.Bits}-bit group quantization is not supported by this format version.");
                long rows = t.Shape[0], cols = t.Shape[1];
                if (t.GroupSize <= 0 || cols % t.GroupSize != 0) throw new InvalidDataException($"group size {t.GroupSize} does not divide {cols} columns.");
                bool sparse = t.Format == GroupQuantizedSparse24;
                if (sparse && (!Sparse24Layout.Supports(t.Bits, cols, t.GroupSize) || t.OutlierCount != 0))
                    throw new InvalidDataException($"2:4 packing needs 2-4 bits, groups of whole 128-column chunks and no outliers (got {t.Bits} bits, group {t.GroupSize}, {cols} columns).");
                long groups = rows * (cols / t.GroupSize);
                var parts = new Dictionary<string, long> { ["qweight"] = rows * (sparse ? Sparse24Layout.RowBytes(cols) : PackedRowBytes(cols, t.Bits)), ["scales"] = groups * 2, ["zeros"] = groups };
                if (t.OutlierCount < 0 || t.OutlierCount > rows * cols) throw new InvalidDataException($"outlier count {t.OutlierCount} is impossible for a [{rows},{cols}] tensor.");
                if (t.OutlierCount > 0)
                {
                    parts["outlier_rows"] = (rows + 1) * 4;
                    parts["outlier_cols"] = t.OutlierCount * 4L;
                    parts["outlier_values"] = t.OutlierCount * 2L;
                }
                return parts;
            default:
                throw new InvalidDataException($"unknown tensor format '{t.Format}'.");
        }
    }

    public static void Validate(TensorEntry t, long dataLength, string path)
    {
        if (t.Shape is null || t.Shape.Any(d => d <= 0) || t.Parts is null)
            throw new PackFormatException(path, $"tensor '{t.Name}' has an invalid shape or no parts.");
        Dictionary<string, long> expected;
        try { expected = ExpectedPartLengths(t); }
        catch (Exception e) when (e is InvalidDataException or OverflowException)
        { throw new PackFormatException(path, $"tensor '{t.Name}': {e.Message}"); }
        foreach (var (part, length) in expected)
        {
            if (!t.Parts.TryGetValue(part, out var blob))
                throw new PackFormatException(path, $"tensor '{t.Name}' lacks part '{part}'.");
            if (blob.Length != length)
                throw new PackFormatException(path, $"tensor '{t.Name}' part '{part}' is {blob.Length} bytes; its shape and format need {length}.");
            if (blob.Offset < 0 || blob.Offset % PackHeader.Alignment != 0 || blob.Offset > dataLength - blob.Length)
                throw new PackFormatException(path, $"tensor '{t.Name}' part '{part}' lies outside the data section or is misaligned.");
        }
    }
}
