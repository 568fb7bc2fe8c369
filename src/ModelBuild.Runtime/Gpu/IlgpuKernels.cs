using ILGPU;

namespace ModelBuild.Runtime.Gpu;

/// <summary>
/// The products as ILGPU kernels, one thread per (output row, token), reading the packed codes directly.
/// ILGPU compiles them for CUDA, or runs them on its CPU accelerator (a slow emulator, for tests).
/// Outputs are [tokens, rows] over the launched row range [rowStart, rowStart + launched rows).
/// </summary>
internal static class IlgpuKernels
{
    /// <summary>w = (q − zero) · scale per group; 4-bit slots hold two codes (low nibble = even column); outliers (CSR) replace grid values.</summary>
    public static void GroupQuantized(Index2D index, ArrayView<byte> codes, ArrayView<float> scales, ArrayView<float> zeros,
        ArrayView<int> outlierRowStart, ArrayView<int> outlierCols, ArrayView<float> outlierValues,
        ArrayView<float> x, ArrayView<float> y, int rowStart, int rows, int cols, int groupSize, int containerBits)
    {
        int r = rowStart + index.X, t = index.Y;
        long rowBytes = (long)cols * containerBits / 8;
        int groups = cols / groupSize;
        float sum = 0;
        for (int c = 0; c < cols; c++)
        {
            int g = r * groups + c / groupSize;
            int code = Code(codes, r * rowBytes, c, containerBits);
            sum += (code - zeros[g]) * scales[g] * x[(long)t * cols + c];
        }
        if (outlierRowStart.Length > 1)
            for (int j = outlierRowStart[r]; j < outlierRowStart[r + 1]; j++)
            {
                int c = outlierCols[j], g = r * groups + c / groupSize;
                int code = Code(codes, r * rowBytes, c, containerBits);
                sum += (outlierValues[j] - (code - zeros[g]) * scales[g]) * x[(long)t * cols + c];
            }
        y[(long)t * rows + r] = sum;
    }

    /// <summary>Column c's code in the row starting at rowOffset (TensorLayout.CodeAt, written out for the kernel compiler).</summary>
    private static int Code(ArrayView<byte> codes, long rowOffset, int c, int containerBits)
    {
        if (containerBits == 8) return codes[rowOffset + c];
        if (containerBits == 4) return (codes[rowOffset + c / 2] >> ((c & 1) * 4)) & 0xF;
        int pair = (c & 127) >> 1;
        return (codes[rowOffset + (c >> 7) * 32 + (pair & 31)] >> ((c & 1) * 2 + (pair >> 5) * 4)) & 0x3;
    }

    /// <summary>Dense rows (f16 and f32 packs, stored as f32 on the device).</summary>
    public static void Dense(Index2D index, ArrayView<float> w, ArrayView<float> x, ArrayView<float> y, int rowStart, int rows, int cols)
    {
        int r = rowStart + index.X, t = index.Y;
        float sum = 0;
        for (int c = 0; c < cols; c++) sum += w[(long)r * cols + c] * x[(long)t * cols + c];
        y[(long)t * rows + r] = sum;
    }
}
