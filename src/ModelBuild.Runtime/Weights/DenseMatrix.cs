using ModelBuild.Runtime.Kernels;

namespace ModelBuild.Runtime.Weights;

/// <summary>An f32, f16 or bf16 matrix living in the memory-mapped pack; activations stay float32.</summary>
public sealed unsafe class DenseMatrix(byte* data, int rows, int cols, DenseElement element) : IWeightMatrix
{
    // Decode reads a range of at least this many rows as two streams (AVX-512).
    private const int TwoStreamRows = 32;

    // Keeps the memory a matrix made by Owning points into alive (a pinned array, never moved).
    private Array? Owned { get; init; }

    /// <summary>An f16 matrix over a pinned array it keeps alive.</summary>
    public static DenseMatrix Owning(Half[] pinned, int rows, int cols) =>
        new((byte*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref pinned[0]), rows, cols, DenseElement.F16) { Owned = pinned };

    public int Rows => rows;
    public int Cols => cols;
    public DenseElement Element => element;
    public long PackedBytes => (long)rows * cols * (element == DenseElement.F32 ? 4 : 2);

    public void DequantizeRow(int row, Span<float> dst)
    {
        if (dst.Length < cols) throw new ArgumentException($"the destination holds {dst.Length} values; a row has {cols}.");
        long offset = (long)row * cols;
        switch (element)
        {
            case DenseElement.F16:
                fixed (float* d = dst) HalfToSingle.Convert((Half*)data + offset, d, cols);
                break;
            case DenseElement.BF16:
                fixed (float* d = dst) BFloat16Dot.ToSingle((ushort*)data + offset, d, cols);
                break;
            default: new ReadOnlySpan<float>((float*)data + offset, cols).CopyTo(dst); break;
        }
    }

    public bool UsesInt8Activations(KernelPath path, ActivationBatch x) => false;

    public void MultiplyRows(ActivationBatch x, float* y, int yStride, int rowStart, int rowEnd, KernelPath path)
    {
        if (element != DenseElement.F32 && x.Tokens == 1 && path is KernelPath.Avx2 or KernelPath.Avx512)
        {
            // Decode: each row is read once, so convert in registers as it streams by.
            bool avx512 = path == KernelPath.Avx512;
            delegate*<ushort*, float*, int, float> dot = element == DenseElement.BF16
                ? avx512 ? &BFloat16Dot.Avx512 : &BFloat16Dot.Avx2
                : avx512 ? &HalfDot.Avx512 : &HalfDot.Avx2;
            // On AVX-512 the two halves of the range go as two streams, a row of each per step (as the integer kernels do).
            delegate*<ushort*, ushort*, int, float*, int, float*, float*, void> rows2 = !avx512 ? null
                : element == DenseElement.BF16 ? &BFloat16Dot.Avx512Rows2 : &HalfDot.Avx512Rows2;
            ushort* w = (ushort*)data;
            fixed (float* xp = x.Values)
            {
                int r = rowStart, second = SecondStream(rowStart, rowEnd);
                if (rows2 != null && second < rowEnd)
                {
                    int half = second - rowStart;
                    rows2(w + (long)r * cols, w + (long)second * cols, half, xp, cols, y + r, y + second);
                    r += 2 * half;
                }
                for (; r < rowEnd; r++) y[r] = dot(w + (long)r * cols, xp, cols);
            }
            return;
        }
        // Prefill and the scalar path: rows converted to float once, then register tiles of rows × tokens (RowByRow).
        RowByRow.Multiply(this, x, y, yStride, rowStart, rowEnd, path);
    }

    /// <summary>
    /// Step k is the next two rows of each half of the range (decode's two streams), or of the range when it is short:
    /// small steps, as a thread checks for its next dispatch between them.
    /// </summary>
    public long PrefetchDecodeStep(int rowStart, int rowEnd, int step)
    {
        const int StepRows = 2;
        if (rowStart < 0 || rowEnd > rows || element == DenseElement.F32) return 0;
        long rowBytes = cols * 2L;
        int second = SecondStream(rowStart, rowEnd), r0 = rowStart + step * StepRows;
        if (r0 >= second) return 0;
        int n = Math.Min(StepRows, second - r0), streams = second < rowEnd ? 2 : 1;
        StreamPrefetch.Range(data + r0 * rowBytes, n * rowBytes);
        if (streams == 2) StreamPrefetch.Range(data + (r0 + second - rowStart) * rowBytes, n * rowBytes);
        return streams * n * rowBytes;
    }

    /// <summary>Where decode's second stream starts in [rowStart, rowEnd): half way for ranges of two or more tiles, else rowEnd (one stream).</summary>
    private static int SecondStream(int rowStart, int rowEnd) =>
        rowEnd - rowStart >= TwoStreamRows ? rowStart + (rowEnd - rowStart) / 2 : rowEnd;
}
