namespace ModelBuild.Runtime.Weights;

/// <summary>A [Rows x Cols] (out x in) weight matrix in its packed form, read one row at a time.</summary>
public interface IWeightMatrix
{
    int Rows { get; }
    int Cols { get; }
    /// <summary>Writes row <paramref name="row"/> as float32 into <paramref name="dst"/> (length Cols).</summary>
    void DequantizeRow(int row, Span<float> dst);
}
