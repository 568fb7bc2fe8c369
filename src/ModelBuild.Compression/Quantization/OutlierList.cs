namespace ModelBuild.Compression.Quantization;

/// <summary>
/// Weights kept in f16 outside the quantization grid (SpQR-style), in compressed-sparse-row form:
/// row r's outliers are <c>Columns[RowStart[r] .. RowStart[r+1]]</c> with their <c>Values</c>.
/// </summary>
public sealed record OutlierList(int[] RowStart, int[] Columns, Half[] Values)
{
    public int Count => Columns.Length;

    public static OutlierList FromTriples(int rows, IEnumerable<(int Row, int Col, Half Value)> triples)
    {
        var sorted = triples.OrderBy(t => t.Row).ThenBy(t => t.Col).ToArray();
        var start = new int[rows + 1];
        foreach (var t in sorted) start[t.Row + 1]++;
        for (int r = 0; r < rows; r++) start[r + 1] += start[r];
        return new OutlierList(start, sorted.Select(t => t.Col).ToArray(), sorted.Select(t => t.Value).ToArray());
    }

    public void ApplyTo(float[] weights, int cols)
    {
        for (int r = 0; r + 1 < RowStart.Length; r++)
            for (int j = RowStart[r]; j < RowStart[r + 1]; j++) weights[(long)r * cols + Columns[j]] = (float)Values[j];
    }
}
