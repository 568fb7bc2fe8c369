using ModelBuild.Format.Pack;
using ModelBuild.Runtime.Kernels;

namespace ModelBuild.Runtime.Weights;

/// <summary>
/// f16 weights pruned 2:4, two values of every four columns stored with their positions (format "f16s24",
/// <see cref="Sparse24Layout"/>). Decode on AVX-512 VBMI multiplies the packed row directly; prefill and the other
/// paths expand each row to float once and reuse it across the batch's tokens.
/// </summary>
public sealed unsafe class Sparse24HalfMatrix : IWeightMatrix
{
    private readonly byte* _data;
    private readonly long _rowBytes;

    public Sparse24HalfMatrix(byte* data, int rows, int cols)
    {
        if (cols % Sparse24Layout.ChunkColumns != 0) throw new ArgumentException($"2:4 packing needs whole 128-column chunks (got {cols} columns).");
        _data = data;
        Rows = rows;
        Cols = cols;
        _rowBytes = Sparse24Layout.HalfRowBytes(cols);
    }

    public int Rows { get; }
    public int Cols { get; }
    public long PackedBytes => Rows * _rowBytes;

    public void DequantizeRow(int row, Span<float> dst)
    {
        dst[..Cols].Clear();
        byte* chunk = _data + row * _rowBytes;
        for (int c0 = 0; c0 < Cols; c0 += Sparse24Layout.ChunkColumns, chunk += Sparse24Layout.HalfChunkBytes)
            for (int k = 0; k < 64; k++)
            {
                var (pb, ps) = Sparse24Layout.PositionInBlock(k);
                int column = c0 + 4 * (k / 2) + ((chunk[Sparse24Layout.HalfValueBytes + pb] >> ps) & 3);
                dst[column] += (float)((Half*)chunk)[k];
            }
    }

    public bool UsesInt8Activations(KernelPath path, ActivationBatch x) => false;

    public void MultiplyRows(ActivationBatch x, float* y, int yStride, int rowStart, int rowEnd, KernelPath path)
    {
        if (x.Tokens == 1 && path == KernelPath.Avx512 && HalfSparse24Dot.IsSupported)
        {
            fixed (float* xp = x.Values)
                for (int r = rowStart; r < rowEnd; r++) y[r] = HalfSparse24Dot.Avx512(_data + r * _rowBytes, xp, Cols);
            return;
        }
        RowByRow.Multiply(this, x, y, yStride, rowStart, rowEnd, path);
    }
}
