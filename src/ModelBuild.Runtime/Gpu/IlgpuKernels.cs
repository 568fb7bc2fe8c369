using ILGPU;

namespace ModelBuild.Runtime.Gpu;

/// <summary>
/// The products as ILGPU kernels, one thread per (output row, token), reading the packed codes directly. The device
/// copies are row-interleaved (<see cref="RowInterleaving"/>): in each step the threads of a warp, on adjacent rows,
/// read adjacent words of codes, scales and zero points (coalesced on a GPU) and the same activation (a broadcast).
/// No thread waits on another, so ILGPU's CPU accelerator runs the same kernels at a usable speed for tests.
/// Outputs are [tokens, rows] over the launched row range [rowStart, rowStart + launched rows).
/// </summary>
internal static class IlgpuKernels
{
    /// <summary>w = (q − zero) · scale per group; 4-bit slots hold two codes (low nibble = even column); outliers (CSR) replace grid values.</summary>
    public static void GroupQuantized(Index2D index, ArrayView<uint> codes, ArrayView<float> scales, ArrayView<float> zeros,
        ArrayView<int> outlierRowStart, ArrayView<int> outlierCols, ArrayView<float> outlierValues,
        ArrayView<float> x, ArrayView<float> y, int rowStart, int rows, int cols, int groupSize, int containerBits)
    {
        int r = rowStart + index.X, t = index.Y, groups = cols / groupSize;
        long xRow = (long)t * cols;
        float sum = 0;
        for (int g = 0; g < groups; g++)
        {
            float zero = zeros[(long)g * rows + r], acc = 0;
            for (int c = g * groupSize; c < (g + 1) * groupSize; c++)
                acc += (Code(codes, rows, r, c, containerBits) - zero) * x[xRow + c];
            sum += acc * scales[(long)g * rows + r];
        }
        if (outlierRowStart.Length > 1)
            for (int j = outlierRowStart[r]; j < outlierRowStart[r + 1]; j++)
            {
                int c = outlierCols[j];
                long g = (long)(c / groupSize) * rows + r;
                sum += (outlierValues[j] - (Code(codes, rows, r, c, containerBits) - zeros[g]) * scales[g]) * x[xRow + c];
            }
        y[(long)t * rows + r] = sum;
    }

    /// <summary>
    /// Column c's code in row r (TensorLayout.CodeAt, written out for the kernel compiler): the byte holding it within
    /// the row, read from the row's interleaved 32-bit words.
    /// </summary>
    private static int Code(ArrayView<uint> codes, int rows, int r, int c, int containerBits)
    {
        int b = c, shift = 0;
        if (containerBits == 4)
        {
            b = c / 2;
            shift = (c & 1) * 4;
        }
        else if (containerBits == 2)
        {
            int pair = (c & 127) >> 1;
            b = (c >> 7) * 32 + (pair & 31);
            shift = (c & 1) * 2 + (pair >> 5) * 4;
        }
        int value = (int)(codes[(long)(b >> 2) * rows + r] >> ((b & 3) * 8)) & 0xFF;
        return (value >> shift) & ((1 << IntrinsicMath.Min(containerBits, 8)) - 1);
    }

    /// <summary>Dense rows (f16 and f32 packs, stored as f32 on the device, interleaved).</summary>
    public static void Dense(Index2D index, ArrayView<float> w, ArrayView<float> x, ArrayView<float> y, int rowStart, int rows, int cols)
    {
        int r = rowStart + index.X, t = index.Y;
        float sum = 0;
        for (int c = 0; c < cols; c++) sum += w[(long)c * rows + r] * x[(long)t * cols + c];
        y[(long)t * rows + r] = sum;
    }

    /// <summary>Dense rows kept as 16-bit floats on the device (f16 and bf16 packs, 2:4 f16 expanded): half the bytes of f32.</summary>
    public static void Dense16(Index2D index, ArrayView<ushort> w, ArrayView<float> x, ArrayView<float> y, int rowStart, int rows, int cols, int bfloat16)
    {
        int r = rowStart + index.X, t = index.Y;
        float sum = 0;
        for (int c = 0; c < cols; c++)
        {
            ushort bits = w[(long)c * rows + r];
            float value = bfloat16 != 0 ? Interop.IntAsFloat((uint)bits << 16) : (float)Interop.IntAsFloat(bits);
            sum += value * x[(long)t * cols + c];
        }
        y[(long)t * rows + r] = sum;
    }
}
