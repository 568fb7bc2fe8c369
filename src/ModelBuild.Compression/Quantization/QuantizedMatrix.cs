using ModelBuild.Format.Pack;

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

    /// <summary>Codes packed as the pack format stores them (<see cref="TensorLayout.CodeAt"/>): 8-bit as is, 2-bit four per byte, 3-4 bits two per byte.</summary>
    public byte[] PackCodes() => TensorLayout.PackCodes(Codes, Rows, Cols, Bits);
}
