namespace ModelBuild.Format.Pack;

/// <summary>The byte sizes each tensor format implies, checked against the manifest so a reader never trusts declared sizes.</summary>
public static class TensorLayout
{
    public const string F32 = "f32";
    public const string F16 = "f16";
    public const string GroupQuantized = "gq";

    /// <summary>Codes of 2-4 bits are stored in 4-bit slots (two per byte), 8-bit codes in bytes.</summary>
    public static int ContainerBits(int bits) => bits <= 4 ? 4 : 8;

    public static long PackedRowBytes(long cols, int bits) => (cols * ContainerBits(bits) + 7) / 8;

    public static Dictionary<string, long> ExpectedPartLengths(TensorEntry t)
    {
        long count = t.Shape.Aggregate(1L, (a, b) => checked(a * b));
        switch (t.Format)
        {
            case F32: return new() { ["data"] = count * 4 };
            case F16: return new() { ["data"] = count * 2 };
            case GroupQuantized:
                if (t.Shape.Length != 2) throw new InvalidDataException("group-quantized tensors must be 2-D.");
                if (t.Bits is not (2 or 3 or 4 or 8)) throw new InvalidDataException($"{t.Bits}-bit group quantization is not supported by this format version.");
                long rows = t.Shape[0], cols = t.Shape[1];
                if (t.GroupSize <= 0 || cols % t.GroupSize != 0) throw new InvalidDataException($"group size {t.GroupSize} does not divide {cols} columns.");
                long groups = rows * (cols / t.GroupSize);
                var parts = new Dictionary<string, long> { ["qweight"] = rows * PackedRowBytes(cols, t.Bits), ["scales"] = groups * 2, ["zeros"] = groups };
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
