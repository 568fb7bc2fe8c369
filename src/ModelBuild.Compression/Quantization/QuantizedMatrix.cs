namespace ModelBuild.Compression.Quantization;

/// <summary>
/// A group-quantized [rows x cols] matrix: integer codes q in [0, 2^bits), and per (row, group) an f16 scale and
/// an integer zero point; the weight is (q - zero) * scale.
/// </summary>
public sealed record QuantizedMatrix(int Rows, int Cols, int Bits, int GroupSize, bool Symmetric, byte[] Codes, Half[] Scales, byte[] Zeros,
    OutlierList? Outliers = null)
{
    public int GroupsPerRow => Cols / GroupSize;

    public float Dequantize(int row, int col)
    {
        int g = row * GroupsPerRow + col / GroupSize;
        return (Codes[(long)row * Cols + col] - Zeros[g]) * (float)Scales[g];
    }

    /// <summary>The effective weights: the grid values, with outliers (if any) replacing theirs.</summary>
    public float[] Dequantize()
    {
        var w = new float[(long)Rows * Cols];
        for (int r = 0; r < Rows; r++)
            for (int c = 0; c < Cols; c++) w[(long)r * Cols + c] = Dequantize(r, c);
        Outliers?.ApplyTo(w, Cols);
        return w;
    }

    /// <summary>Codes packed as the pack format stores them: 8-bit as is, 2-4 bits two per byte, low nibble first.</summary>
    public byte[] PackCodes()
    {
        if (Bits == 8) return (byte[])Codes.Clone();
        // 2- and 3-bit codes share the 4-bit layout until dedicated packings exist.
        var packed = new byte[Codes.Length / 2];
        for (int i = 0; i < packed.Length; i++) packed[i] = (byte)(Codes[2 * i] | (Codes[2 * i + 1] << 4));
        return packed;
    }
}
