using System.Numerics.Tensors;
using ModelBuild.Runtime.Kernels;

namespace ModelBuild.Runtime.Weights;

/// <summary>An f32 or f16 matrix living in the memory-mapped pack; activations stay float32.</summary>
public sealed unsafe class DenseMatrix(byte* data, int rows, int cols, bool half) : IWeightMatrix
{
    // Keeps the memory a matrix made by Owning points into alive (a pinned array, never moved).
    private Array? Owned { get; init; }

    /// <summary>An f16 matrix over a pinned array it keeps alive.</summary>
    public static DenseMatrix Owning(Half[] pinned, int rows, int cols) =>
        new((byte*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref pinned[0]), rows, cols, half: true) { Owned = pinned };

    public int Rows => rows;
    public int Cols => cols;
    public long PackedBytes => (long)rows * cols * (half ? 2 : 4);

    public void DequantizeRow(int row, Span<float> dst)
    {
        if (half) TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>((Half*)data + (long)row * cols, cols), dst);
        else new ReadOnlySpan<float>((float*)data + (long)row * cols, cols).CopyTo(dst);
    }

    public bool UsesInt8Activations(KernelPath path, ActivationBatch x) => false;

    public void MultiplyRows(ActivationBatch x, float* y, int yStride, int rowStart, int rowEnd, KernelPath path)
    {
        if (half && x.Tokens == 1 && path is KernelPath.Avx2 or KernelPath.Avx512)
        {
            // Decode: each row is read once, so convert in registers as it streams by.
            fixed (float* xp = x.Values)
                for (int r = rowStart; r < rowEnd; r++)
                {
                    Half* row = (Half*)data + (long)r * cols;
                    y[r] = path == KernelPath.Avx512 ? HalfDot.Avx512(row, xp, cols) : HalfDot.Avx2(row, xp, cols);
                }
            return;
        }
        // Prefill (and the scalar reference): convert once per row to an L1-resident float row, then dot per token.
        RowByRow.Multiply(this, x, y, yStride, rowStart, rowEnd, path);
    }
}
