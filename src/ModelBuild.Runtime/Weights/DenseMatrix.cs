namespace ModelBuild.Runtime.Weights;

/// <summary>An f32 or f16 matrix living in the memory-mapped pack.</summary>
public sealed unsafe class DenseMatrix(byte* data, int rows, int cols, bool half) : IWeightMatrix
{
    public int Rows => rows;
    public int Cols => cols;

    public void DequantizeRow(int row, Span<float> dst)
    {
        if (half)
        {
            var src = new ReadOnlySpan<Half>((Half*)data + (long)row * cols, cols);
            System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(src, dst);
        }
        else new ReadOnlySpan<float>((float*)data + (long)row * cols, cols).CopyTo(dst);
    }
}
