using ILGPU;

namespace ModelBuild.Runtime.Gpu;

/// <summary>
/// The products as ILGPU kernels, one thread per (output row, token, slice of columns), reading the packed codes
/// directly (<see cref="ProductSlices"/>: decode's few thousand rows are cut into column slices to give a GPU enough
/// threads, their partial sums then added in order). The device
/// copies are row-interleaved (<see cref="RowInterleaving"/>): in each step the threads of a warp, on adjacent rows,
/// read adjacent words of codes, scales and zero points (coalesced on a GPU) and the same activation (a broadcast).
/// No thread waits on another, so ILGPU's CPU accelerator runs the same kernels at a usable speed for tests.
/// Outputs are [tokens, rows] over the launched row range [rowStart, rowStart + launched rows).
/// </summary>
internal static class IlgpuKernels
{
    /// <summary>
    /// w = (q − zero) · scale per group over the slice's groups (index: launched row, token, slice); 4-bit slots hold two
    /// codes (low nibble = even column); outliers (CSR, added by slice 0) replace grid values.
    /// </summary>
    public static void GroupQuantized(Index3D index, ArrayView<uint> codes, ArrayView<float> scales, ArrayView<float> zeros,
        ArrayView<int> outlierRowStart, ArrayView<int> outlierCols, ArrayView<float> outlierValues,
        ArrayView<float> x, ArrayView<float> target, ProductSlices s)
    {
        int r = s.RowStart + index.X, t = index.Y, slice = index.Z, rows = s.Rows, groupSize = s.GroupSize;
        long xRow = (long)t * s.Cols;
        float sum = 0;
        for (int g = slice * s.PerSlice; g < IntrinsicMath.Min(s.Cols / groupSize, (slice + 1) * s.PerSlice); g++)
        {
            float zero = zeros[(long)g * rows + r], acc = 0;
            for (int c = g * groupSize; c < (g + 1) * groupSize; c++)
                acc += (Code(codes, rows, r, c, s.ContainerBits) - zero) * x[xRow + c];
            sum += acc * scales[(long)g * rows + r];
        }
        if (slice == 0 && outlierRowStart.Length > 1)
            for (int j = outlierRowStart[r]; j < outlierRowStart[r + 1]; j++)
            {
                int c = outlierCols[j];
                long g = (long)(c / groupSize) * rows + r;
                sum += (outlierValues[j] - (Code(codes, rows, r, c, s.ContainerBits) - zeros[g]) * scales[g]) * x[xRow + c];
            }
        target[s.Target(slice, t, r)] = sum;
    }

    /// <summary>y[t, r] = the slices' partial sums added in slice order (index: launched row, token).</summary>
    public static void SumSlices(Index2D index, ArrayView<float> partial, ArrayView<float> y, ProductSlices s)
    {
        int r = s.RowStart + index.X, t = index.Y;
        float sum = 0;
        for (int slice = 0; slice < s.Slices; slice++) sum += partial[((long)slice * s.Tokens + t) * s.RowCount + index.X];
        y[(long)t * s.Rows + r] = sum;
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

    /// <summary>Dense f32 rows (f32 packs), interleaved; index: launched row, token, slice of columns.</summary>
    public static void Dense(Index3D index, ArrayView<float> w, ArrayView<float> x, ArrayView<float> target, ProductSlices s)
    {
        int r = s.RowStart + index.X, t = index.Y, slice = index.Z;
        float sum = 0;
        for (int c = slice * s.PerSlice; c < IntrinsicMath.Min(s.Cols, (slice + 1) * s.PerSlice); c++)
            sum += w[(long)c * s.Rows + r] * x[(long)t * s.Cols + c];
        target[s.Target(slice, t, r)] = sum;
    }

    /// <summary>Dense rows kept as 16-bit floats on the device (f16 and bf16 packs, 2:4 f16 expanded): half the bytes of f32.</summary>
    public static void Dense16(Index3D index, ArrayView<ushort> w, ArrayView<float> x, ArrayView<float> target, ProductSlices s, int bfloat16)
    {
        int r = s.RowStart + index.X, t = index.Y, slice = index.Z;
        float sum = 0;
        for (int c = slice * s.PerSlice; c < IntrinsicMath.Min(s.Cols, (slice + 1) * s.PerSlice); c++)
        {
            ushort bits = w[(long)c * s.Rows + r];
            float value = bfloat16 != 0 ? Interop.IntAsFloat((uint)bits << 16) : (float)Interop.IntAsFloat(bits);
            sum += value * x[(long)t * s.Cols + c];
        }
        target[s.Target(slice, t, r)] = sum;
    }
}
