namespace ModelBuild.Runtime.Weights;

/// <summary>
/// Group-quantized weights: q (4 bits, low nibble first, or 8 bits) per weight; per group of
/// <c>groupSize</c> columns an f16 scale and a u8 zero point; w = (q - zero) * scale.
/// Optional outliers (CSR: rowStart[rows+1], columns, f16 values) replace the grid value at their positions.
/// </summary>
public sealed unsafe class GroupQuantizedMatrix(byte* qweight, Half* scales, byte* zeros, int rows, int cols, int bits, int groupSize,
    int* outlierRowStart = null, int* outlierCols = null, Half* outlierValues = null) : IWeightMatrix
{
    public int Rows => rows;
    public int Cols => cols;
    public int Bits => bits;
    public int GroupSize => groupSize;

    public void DequantizeRow(int row, Span<float> dst)
    {
        int groups = cols / groupSize;
        int container = Format.Pack.TensorLayout.ContainerBits(bits);
        long rowBytes = (long)cols * container / 8;
        byte* q = qweight + row * rowBytes;
        for (int g = 0; g < groups; g++)
        {
            float scale = (float)scales[(long)row * groups + g];
            float zero = zeros[(long)row * groups + g];
            int start = g * groupSize;
            if (container == 4)
                for (int c = start; c < start + groupSize; c += 2)
                {
                    byte b = q[c >> 1];
                    dst[c] = ((b & 0xF) - zero) * scale;
                    dst[c + 1] = ((b >> 4) - zero) * scale;
                }
            else
                for (int c = start; c < start + groupSize; c++)
                    dst[c] = (q[c] - zero) * scale;
        }
        if (outlierRowStart != null)
            for (int j = outlierRowStart[row]; j < outlierRowStart[row + 1]; j++) dst[outlierCols[j]] = (float)outlierValues[j];
    }

    /// <summary>Checks that the outlier lists index inside the matrix; a tampered pack must not write out of bounds.</summary>
    public static void ValidateOutliers(int* rowStart, int* columns, int rows, int cols, int count, string tensor, string path)
    {
        if (rowStart[0] != 0 || rowStart[rows] != count)
            throw new Format.Pack.PackFormatException(path, $"tensor '{tensor}' has an inconsistent outlier row index.");
        for (int r = 0; r < rows; r++)
            if (rowStart[r + 1] < rowStart[r]) throw new Format.Pack.PackFormatException(path, $"tensor '{tensor}' has an inconsistent outlier row index.");
        for (int j = 0; j < count; j++)
            if ((uint)columns[j] >= (uint)cols) throw new Format.Pack.PackFormatException(path, $"tensor '{tensor}' has an outlier outside its {cols} columns.");
    }
}
