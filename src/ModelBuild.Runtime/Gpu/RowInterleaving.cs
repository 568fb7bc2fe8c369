namespace ModelBuild.Runtime.Gpu;

/// <summary>
/// Device copies laid out for one thread per row: item k of every row stored together (item k of row r at
/// k · rows + r), so the threads of a GPU warp, on adjacent rows, read adjacent addresses in each step.
/// </summary>
internal static class RowInterleaving
{
    /// <summary>Each row's code bytes as 32-bit words (little-endian, the row's tail zero-padded), interleaved.</summary>
    public static uint[] Words(byte[] codes, int rows, long rowBytes)
    {
        long words = WordsPerRow(rowBytes);
        var result = new uint[checked(words * rows)];
        for (int r = 0; r < rows; r++)
            for (long b = 0; b < rowBytes; b++)
                result[(b >> 2) * rows + r] |= (uint)codes[r * rowBytes + b] << (int)(8 * (b & 3));
        return result;
    }

    private static long WordsPerRow(long rowBytes) => (rowBytes + 3) / 4;

    /// <summary>[rows, perRow] row-major values (scales, zero points, dense weights) interleaved.</summary>
    public static float[] Items(float[] values, int rows, int perRow)
    {
        var result = new float[values.Length];
        for (int r = 0; r < rows; r++)
            for (int k = 0; k < perRow; k++)
                result[(long)k * rows + r] = values[(long)r * perRow + k];
        return result;
    }

    /// <summary>
    /// A dense matrix's rows, each value converted (to f32, or to the f16 or bf16 bits its values are exact in),
    /// interleaved, one row dequantized at a time.
    /// </summary>
    public static T[] Rows<T>(Weights.IWeightMatrix m, Func<float, T> convert)
    {
        var result = new T[checked((long)m.Rows * m.Cols)];
        var row = new float[m.Cols];
        for (int r = 0; r < m.Rows; r++)
        {
            m.DequantizeRow(r, row);
            for (int k = 0; k < row.Length; k++) result[(long)k * m.Rows + r] = convert(row[k]);
        }
        return result;
    }
}
