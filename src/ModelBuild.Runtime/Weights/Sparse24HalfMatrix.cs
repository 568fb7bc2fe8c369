using System.Numerics.Tensors;
using ModelBuild.Format.Pack;
using ModelBuild.Runtime.Kernels;

namespace ModelBuild.Runtime.Weights;

/// <summary>
/// f16 weights pruned 2:4, two values of every four columns stored with their positions (format "f16s24",
/// <see cref="Sparse24Layout"/>). Decode on AVX-512 VBMI multiplies the packed row directly; prefill and the other
/// paths expand each row to float once and reuse it across the batch's tokens; a model on a path without the decode
/// kernel uses <see cref="ExpandToDense"/> instead.
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
        Span<float> values = stackalloc float[64];
        byte* chunk = _data + row * _rowBytes;
        for (int c0 = 0; c0 < Cols; c0 += Sparse24Layout.ChunkColumns, chunk += Sparse24Layout.HalfChunkBytes)
        {
            // One vectorized conversion per chunk (a scalar Half cast per value made prefill slower than f16's).
            TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(chunk, 64), values);
            for (int k = 0; k < 64; k++) dst[c0 + Column(chunk, k)] += values[k];
        }
    }

    /// <summary>
    /// The same weights as a dense f16 matrix (zeros stored), for paths without a 2:4 kernel: 16/9 the memory, and
    /// decode at the dense kernel's speed instead of expanding every row per token.
    /// </summary>
    public DenseMatrix ExpandToDense()
    {
        var halves = GC.AllocateArray<Half>(checked(Rows * Cols), pinned: true);
        fixed (Half* dense = halves)
        {
            Half* d = dense;
            Parallel.For(0, Rows, r =>
            {
                byte* chunk = _data + r * _rowBytes;
                Half* row = d + (long)r * Cols;
                for (int c0 = 0; c0 < Cols; c0 += Sparse24Layout.ChunkColumns, chunk += Sparse24Layout.HalfChunkBytes)
                    for (int k = 0; k < 64; k++) row[c0 + Column(chunk, k)] = ((Half*)chunk)[k];
            });
        }
        return DenseMatrix.Owning(halves, Rows, Cols);
    }

    /// <summary>Kept value <paramref name="k"/>'s column (0-127) in the chunk at <paramref name="chunk"/>.</summary>
    private static int Column(byte* chunk, int k)
    {
        var (pb, ps) = Sparse24Layout.PositionInBlock(k);
        return 4 * (k / 2) + ((chunk[Sparse24Layout.HalfValueBytes + pb] >> ps) & 3);
    }

    public bool UsesInt8Activations(KernelPath path, ActivationBatch x) => false;

    public void MultiplyRows(ActivationBatch x, float* y, int yStride, int rowStart, int rowEnd, KernelPath path)
    {
        if (x.Tokens == 1 && KernelPaths.HasSparse24Kernels(path))
        {
            fixed (float* xp = x.Values)
                for (int r = rowStart; r < rowEnd; r++) y[r] = HalfSparse24Dot.Avx512(_data + r * _rowBytes, xp, Cols);
            return;
        }
        RowByRow.Multiply(this, x, y, yStride, rowStart, rowEnd, path);
    }
}
