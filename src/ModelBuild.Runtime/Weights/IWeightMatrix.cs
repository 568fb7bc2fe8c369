using ModelBuild.Runtime.Kernels;

namespace ModelBuild.Runtime.Weights;

/// <summary>A [Rows x Cols] (out x in) weight matrix in its packed form.</summary>
public interface IWeightMatrix
{
    int Rows { get; }
    int Cols { get; }

    /// <summary>Bytes of packed data one full pass over the matrix reads (codes, scales, zeros, side lists).</summary>
    long PackedBytes { get; }

    /// <summary>Writes row <paramref name="row"/> as float32 into <paramref name="dst"/> (length Cols).</summary>
    void DequantizeRow(int row, Span<float> dst);

    /// <summary>Whether <see cref="MultiplyRows"/> on <paramref name="path"/> reads the batch's int8 codes (so they must exist first).</summary>
    bool UsesInt8Activations(KernelPath path, ActivationBatch x);

    /// <summary>y[t * yStride + r] = W[r, :] · x[t, :] for rows [rowStart, rowEnd) and every token of the batch.</summary>
    unsafe void MultiplyRows(ActivationBatch x, float* y, int yStride, int rowStart, int rowEnd, KernelPath path);

    /// <summary>
    /// Prefetches step <paramref name="step"/> (0, 1, ...) of what one-token <see cref="MultiplyRows"/> over [rowStart,
    /// rowEnd) reads, in the order it reads it; returns the bytes asked for, 0 past the end (or for a range outside the
    /// matrix). Matrices without a decode stream to warm prefetch nothing.
    /// </summary>
    long PrefetchDecodeStep(int rowStart, int rowEnd, int step) => 0;
}
