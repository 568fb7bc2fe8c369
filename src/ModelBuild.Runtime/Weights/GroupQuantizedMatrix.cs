using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ModelBuild.Format.Pack;
using ModelBuild.Runtime.Kernels;

namespace ModelBuild.Runtime.Weights;

/// <summary>
/// Group-quantized weights: q per weight (2-bit codes four per byte, 3-4 bit codes in 4-bit slots, or 8 bits; see
/// TensorLayout.CodeAt); per group
/// of <c>groupSize</c> columns an f16 scale and a u8 zero point; w = (q - zero) * scale.
/// Optional outliers (CSR: rowStart[rows+1], columns, f16 values) replace the grid value at their positions.
/// With <c>sparse24</c> the codes are 2:4-packed (Format.Pack.Sparse24Layout): two stored codes of every four
/// columns, the others zero; AVX-512 VBMI multiplies them directly; for the other paths a model expands such a matrix to
/// 4-bit slots once at load (<see cref="ExpandToDense"/>), and a direct call takes the row-by-row reference.
/// The SIMD paths multiply the packed codes directly (no dequantized copy): rows in tiles that stay in cache,
/// tokens in tiles, so prefill reuses each tile of weights across many tokens.
/// </summary>
public sealed unsafe class GroupQuantizedMatrix(byte* qweight, Half* scales, byte* zeros, int rows, int cols, int bits, int groupSize,
    int* outlierRowStart = null, int* outlierCols = null, Half* outlierValues = null, bool sparse24 = false) : IWeightMatrix
{
    private const int RowTile = 16, TokenTile = 64;

    private readonly int _groups = cols / groupSize;
    private readonly long _rowBytes = sparse24 ? Sparse24Layout.RowBytes(cols) : TensorLayout.PackedRowBytes(cols, bits);
    // A 2:4 matrix's codes expand to 4-bit slots (ExpandToDense, HostCopies).
    private readonly int _container = sparse24 ? 4 : TensorLayout.ContainerBits(bits, cols);
    // Keeps the memory a matrix made by ExpandToDense points into alive (a pinned array, never moved).
    private byte[]? OwnedCodes { get; init; }

    /// <summary>A 2:4-packed matrix (format "gq24"); it has no outliers.</summary>
    public static GroupQuantizedMatrix Sparse24(byte* qweight, Half* scales, byte* zeros, int rows, int cols, int bits, int groupSize)
    {
        if (!Sparse24Layout.Supports(bits, cols, groupSize)) throw new ArgumentException($"2:4 packing needs 2-4 bits and groups of whole 128-column chunks (got {bits} bits, group {groupSize}, {cols} columns).");
        return new GroupQuantizedMatrix(qweight, scales, zeros, rows, cols, bits, groupSize, sparse24: true);
    }

    public bool IsSparse24 => sparse24;

    /// <summary>Bits per code slot of <see cref="HostCopies"/>' codes (TensorLayout.CodeAt): 3-bit rows go up in 4-bit slots.</summary>
    public int ContainerBits => _container == 3 ? 4 : _container;

    /// <summary>
    /// A 2:4 matrix as a dense one with 4-bit slots (pruned weights at their zero point), for paths without a 2:4 kernel:
    /// the codes take 4/3 the memory, and decode runs at the dense kernels' speed instead of re-expanding every row per
    /// token. Scales and zero points stay in the pack.
    /// </summary>
    public GroupQuantizedMatrix ExpandToDense()
    {
        if (!sparse24) return this;
        long denseRowBytes = cols / 2;
        var codes = GC.AllocateUninitializedArray<byte>(checked((int)(rows * denseRowBytes)), pinned: true);
        fixed (byte* dense = codes)
        {
            byte* d = dense;
            Parallel.For(0, rows, r => ExpandSparseRow(r, d + r * denseRowBytes));
        }
        // 2-bit codes fit 4-bit slots unchanged, so the dense matrix declares 4 bits (its kernels read slots, not bits).
        return new GroupQuantizedMatrix((byte*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref codes[0]), scales, zeros, rows, cols, 4, groupSize) { OwnedCodes = codes };
    }

    public int Rows => rows;
    public int Cols => cols;
    public int Bits => bits;
    public int GroupSize => groupSize;

    public long PackedBytes => rows * _rowBytes + (long)rows * _groups * 3
        + (outlierRowStart == null ? 0 : (rows + 1) * 4L + outlierRowStart[rows] * 6L);

    public void DequantizeRow(int row, Span<float> dst)
    {
        if (sparse24)
        {
            DequantizeSparseRow(row, dst);
            return;
        }
        byte* q = qweight + row * _rowBytes;
        for (int g = 0; g < _groups; g++)
        {
            float scale = (float)scales[(long)row * _groups + g];
            float zero = zeros[(long)row * _groups + g];
            int start = g * groupSize;
            for (int c = start; c < start + groupSize; c++) dst[c] = (Code(q, c) - zero) * scale;
        }
        if (outlierRowStart != null)
            for (int j = outlierRowStart[row]; j < outlierRowStart[row + 1]; j++) dst[outlierCols[j]] = (float)outlierValues[j];
    }

    /// <summary>Σ over the stored codes of (q − zero) · scale into their columns; the columns none names stay zero.</summary>
    private void DequantizeSparseRow(int row, Span<float> dst)
    {
        dst[..cols].Clear();
        byte* q = qweight + row * _rowBytes;
        for (int chunk = 0; chunk < cols / Sparse24Layout.ChunkColumns; chunk++, q += Sparse24Layout.ChunkBytes)
            for (int k = 0; k < 64; k++)
            {
                var (code, column) = StoredCode(q, k);
                int c = chunk * Sparse24Layout.ChunkColumns + column, g = (int)((long)row * _groups + c / groupSize);
                dst[c] += (code - zeros[g]) * (float)scales[g];
            }
    }

    /// <summary>Stored code <paramref name="k"/> of the 2:4 chunk at <paramref name="q"/> and the chunk column (0-127) it belongs to.</summary>
    private static (int Code, int Column) StoredCode(byte* q, int k)
    {
        var (cb, cs) = Sparse24Layout.CodeAt(k);
        var (pb, ps) = Sparse24Layout.PositionAt(k);
        return ((q[cb] >> cs) & 0xF, 4 * (k / 2) + ((q[pb] >> ps) & 3));
    }

    /// <summary>Writes a 2:4 row's codes as 4-bit slots (cols/2 bytes): per quad, the zero point in all four nibbles, then the two stored codes in theirs.</summary>
    private void ExpandSparseRow(int row, byte* dst)
    {
        byte* q = qweight + row * _rowBytes;
        for (int chunk = 0; chunk < cols / Sparse24Layout.ChunkColumns; chunk++, q += Sparse24Layout.ChunkBytes)
            for (int quad = 0; quad < Sparse24Layout.ChunkColumns / 4; quad++)
            {
                int c0 = chunk * Sparse24Layout.ChunkColumns + quad * 4;
                var (code0, column0) = StoredCode(q, 2 * quad);
                var (code1, column1) = StoredCode(q, 2 * quad + 1);
                int shift0 = 4 * (column0 & 3), shift1 = 4 * (column1 & 3);
                int nibbles = zeros[(long)row * _groups + c0 / groupSize] * 0x1111 & ~(0xF << shift0) & ~(0xF << shift1);
                *(ushort*)(dst + c0 / 2) = (ushort)(nibbles | code0 << shift0 | code1 << shift1);
            }
    }

    /// <summary>The code of column <paramref name="c"/> in the (dense) row at <paramref name="q"/>.</summary>
    private int Code(byte* q, int c)
        => TensorLayout.ReadCode(new ReadOnlySpan<byte>(q, (int)_rowBytes), c, _container, cols);

    /// <summary>
    /// The integer kernels tile whole 128-column chunks (2- and 4-bit) or 32-column blocks (8-bit) per group; 2:4 codes
    /// have one on AVX-512 with VBMI only.
    /// </summary>
    private bool HasKernel(KernelPath path, ActivationBatch x) =>
        path is KernelPath.Avx2 or KernelPath.Avx512 && x.CanQuantize && (!sparse24 || KernelPaths.HasSparse24Kernels(path)) &&
        (_container <= 4 ? cols % 128 == 0 && groupSize % 128 == 0 : groupSize % ActivationBatch.BlockSize == 0);

    public bool UsesInt8Activations(KernelPath path, ActivationBatch x) => HasKernel(path, x);

    public void MultiplyRows(ActivationBatch x, float* y, int yStride, int rowStart, int rowEnd, KernelPath path)
    {
        if (!HasKernel(path, x))
        {
            RowByRow.Multiply(this, x, y, yStride, rowStart, rowEnd, path);
            return;
        }
        int blocks = cols / ActivationBatch.BlockSize, blocksPerGroup = groupSize / ActivationBatch.BlockSize;
        int tileTokens = Math.Min(TokenTile, x.Tokens), tileGroups = RowTile * _groups;
        float* groupSums = stackalloc float[tileTokens * _groups];
        float* tileScales = stackalloc float[2 * tileGroups];
        float* tileScaleZeros = stackalloc float[2 * tileGroups];
        float* four = stackalloc float[4], two = stackalloc float[2];
        bool avx512 = path == KernelPath.Avx512, sparseKernel = sparse24 && KernelPaths.HasSparse24Kernels(path);
        // 2-, 3- and 4-bit kernels take activations in nibble order (AVX2: a float scale per 8 columns; AVX-512: an integer
        // multiplier per 4 and the token's unit), the 2:4 kernel (AVX-512) in natural order with the same multipliers, 8-bit
        // ones in natural order with a float scale per 32. The kernels are chosen once, not per row and token.
        sbyte* codes = _container <= 4 && !sparseKernel ? x.NibbleOrderCodes.Pointer : x.Codes.Pointer;
        float* activationScales = _container <= 4 ? x.NibbleLaneScales.Pointer : x.BlockScales.Pointer, blockSums = x.BlockSums.Pointer;
        long activationScaleStride = _container <= 4 ? cols / 8 : blocks;
        // The AVX-512 2-, 3- and 4-bit kernels weight each block by its integer multiplier and apply the token's unit once
        // per row (see Int4GroupDot.Avx512Chunk); the others take float scales.
        bool multiplierKernels = avx512 && !sparseKernel && _container <= 4 && (_container != 3 || Int3GroupDot.HasAvx512);
        short* multipliers = x.NibbleLaneMultipliers.Pointer;
        float* units = x.TokenUnits.Pointer;
        long multiplierStride = cols / 4;
        delegate*<byte*, float*, float*, float*, int, int, sbyte*, float*, float> dot = _container switch
        {
            2 => &Int2GroupDot.Avx2,
            3 => &Int3GroupDot.Avx2,
            4 => &Int4GroupDot.Avx2,
            _ => avx512 ? &Int8GroupDot.Avx512 : &Int8GroupDot.Avx2,
        };
        delegate*<byte*, float*, float*, float*, int, int, sbyte*, short*, float, float> dotWeighted = !multiplierKernels ? null : _container switch
        {
            2 => &Int2GroupDot.Avx512,
            3 => &Int3GroupDot.Avx512,
            _ => &Int4GroupDot.Avx512,
        };
        // Decode's two streams go through one call per row pair, or per tile of them, on AVX-512.
        delegate*<byte*, byte*, long, int, float*, float*, float*, float*, float*, int, int, sbyte*, float*, float*, float*, void> rows2 =
            avx512 && !sparseKernel && _container == 8 ? &Int8GroupDot.Avx512Rows2 : null;
        delegate*<byte*, byte*, long, int, float*, float*, float*, float*, float*, int, int, sbyte*, short*, float, float*, float*, void> rows2Weighted =
            !multiplierKernels ? null : _container switch
            {
                2 => &Int2GroupDot.Avx512Rows2,
                3 => &Int3GroupDot.Avx512Rows2,
                _ => &Int4GroupDot.Avx512Rows2,
            };
        bool pairedKernel = rows2 != null || rows2Weighted != null;
        // Prefill: four tokens per pass over a row's codes (unpacked once, used four times); AVX-512, 2, 3 and 4 bits.
        delegate*<byte*, float*, float*, float*, int, int, int, sbyte*, long, short*, long, float*, float*, void> dot4 =
            !multiplierKernels ? null : _container switch
            {
                2 => &Int2GroupDot.Avx512Tokens4,
                3 => &Int3GroupDot.Avx512Tokens4,
                _ => &Int4GroupDot.Avx512Tokens4,
            };
        fixed (float* values = x.Values)
        {
            for (int t0 = 0; t0 < x.Tokens; t0 += TokenTile)
            {
                int t1 = Math.Min(x.Tokens, t0 + TokenTile);
                // Σ x over each group, per token: the zero point's share of every row's dot product.
                for (int t = t0; t < t1; t++)
                    for (int g = 0; g < _groups; g++)
                    {
                        float s = 0;
                        for (int b = g * blocksPerGroup; b < (g + 1) * blocksPerGroup; b++) s += blockSums[t * blocks + b];
                        groupSums[(t - t0) * _groups + g] = s;
                    }
                // Decode reads each row once per token, so it is bound by memory: each thread reads the two halves of its
                // rows in alternation, tile by tile and row by row, streaming from two places at once (int4 decode 3.7 %
                // faster than one stream, 20 of 24 paired rounds; three streams were no faster). Prefill keeps one.
                int secondHalf = SecondStream(rowStart, rowEnd, t1 - t0);
                for (int r0 = rowStart; r0 < secondHalf; r0 += RowTile)
                {
                    int tileRows = Math.Min(secondHalf, r0 + RowTile) - r0, pairedRow = secondHalf + (r0 - rowStart);
                    int pairedRows = Math.Clamp(rowEnd - pairedRow, 0, RowTile);
                    ConvertTileScales(r0, tileRows, tileScales, tileScaleZeros);
                    ConvertTileScales(pairedRow, pairedRows, tileScales + tileGroups, tileScaleZeros + tileGroups);
                    // The hardware prefetcher does little here (decode without software prefetch runs at 0.67×), so
                    // the next tiles' scales and zero points are fetched while this one's codes stream by.
                    PrefetchTileScales(r0 + RowTile, secondHalf);
                    PrefetchTileScales(pairedRow + RowTile, rowEnd);
                    // Four tokens at a time across all the tile's rows, so the tile's codes and those tokens' activations
                    // both stay in L1. (Row by row, each row re-read the whole token tile's activations and lane scales,
                    // 192 KB at 64 tokens × 2048 columns, from L2.)
                    int t = t0;
                    if (dot4 != null || sparseKernel)
                        for (; t + 4 <= t1; t += 4)
                            for (int i = 0; i < tileRows; i++)
                            {
                                int r = r0 + i;
                                byte* q = qweight + r * _rowBytes;
                                float* rowScales = tileScales + i * _groups;
                                if (sparseKernel)
                                {
                                    Int4Sparse24Dot.Avx512Tokens4(q, rowScales, zeros + (long)r * _groups, cols, groupSize, codes + (long)t * cols, cols,
                                        multipliers + t * multiplierStride, multiplierStride, units + t, four);
                                    for (int k = 0; k < 4; k++) y[(long)(t + k) * yStride + r] = four[k];
                                    continue;
                                }
                                dot4(q, rowScales, tileScaleZeros + i * _groups, groupSums + (t - t0) * _groups, _groups, cols, groupSize,
                                    codes + (long)t * cols, cols, multipliers + t * multiplierStride, multiplierStride, units + t, four);
                                for (int k = 0; k < 4; k++) y[(long)(t + k) * yStride + r] = WithOutliers(four[k], r, q, rowScales, values + (long)(t + k) * cols);
                            }
                    int first = 0;
                    if (t + 1 == t1 && (sparseKernel || pairedKernel && outlierRowStart == null))
                    {
                        // Decode: all the tile's row pairs in one call, so the per-row work stays inside the kernel's loop
                        // (a 2:4 matrix has its own two-row kernel and no outliers).
                        first = Math.Min(tileRows, pairedRows);
                        byte* q0 = qweight + r0 * _rowBytes, q1 = qweight + pairedRow * _rowBytes;
                        sbyte* xt = codes + (long)t * cols;
                        float* yt = y + (long)t * yStride, xScales = activationScales + t * activationScaleStride;
                        if (sparseKernel)
                            Int4Sparse24Dot.Avx512Rows2(q0, q1, _rowBytes, first, tileScales, tileScales + tileGroups, zeros + (long)r0 * _groups,
                                zeros + (long)pairedRow * _groups, cols, groupSize, xt, multipliers + t * multiplierStride, units[t], yt + r0, yt + pairedRow);
                        else if (rows2Weighted != null)
                            rows2Weighted(q0, q1, _rowBytes, first, tileScales, tileScales + tileGroups, tileScaleZeros, tileScaleZeros + tileGroups,
                                groupSums + (t - t0) * _groups, cols, groupSize, xt, multipliers + t * multiplierStride, units[t], yt + r0, yt + pairedRow);
                        else
                            rows2(q0, q1, _rowBytes, first, tileScales, tileScales + tileGroups, tileScaleZeros, tileScaleZeros + tileGroups,
                                groupSums + (t - t0) * _groups, cols, groupSize, xt, xScales, yt + r0, yt + pairedRow);
                    }
                    for (int i = first; i < tileRows; i++)
                    {
                        if (pairedKernel && i < pairedRows)
                        {
                            // Both streams' rows in one call: the activations are loaded once for the two.
                            int r = r0 + i, rp = pairedRow + i;
                            byte* q = qweight + r * _rowBytes, qp = qweight + rp * _rowBytes;
                            float* rowScales = tileScales + i * _groups, pairedScales = rowScales + tileGroups;
                            float* rowScaleZeros = tileScaleZeros + i * _groups, pairedScaleZeros = rowScaleZeros + tileGroups;
                            for (int u = t; u < t1; u++)
                            {
                                if (rows2Weighted != null)
                                    rows2Weighted(q, qp, _rowBytes, 1, rowScales, pairedScales, rowScaleZeros, pairedScaleZeros, groupSums + (u - t0) * _groups,
                                        cols, groupSize, codes + (long)u * cols, multipliers + u * multiplierStride, units[u], two, two + 1);
                                else
                                    rows2(q, qp, _rowBytes, 1, rowScales, pairedScales, rowScaleZeros, pairedScaleZeros, groupSums + (u - t0) * _groups,
                                        cols, groupSize, codes + (long)u * cols, activationScales + u * activationScaleStride, two, two + 1);
                                y[(long)u * yStride + r] = WithOutliers(two[0], r, q, rowScales, values + (long)u * cols);
                                y[(long)u * yStride + rp] = WithOutliers(two[1], rp, qp, pairedScales, values + (long)u * cols);
                            }
                            continue;
                        }
                        for (int half = 0; half < (i < pairedRows ? 2 : 1); half++)
                        {
                            int r = (half == 0 ? r0 : pairedRow) + i;
                            byte* q = qweight + r * _rowBytes;
                            float* rowScales = tileScales + half * tileGroups + i * _groups, rowScaleZeros = tileScaleZeros + half * tileGroups + i * _groups;
                            for (int u = t; u < t1; u++)
                                y[(long)u * yStride + r] = sparseKernel
                                    ? Int4Sparse24Dot.Avx512(q, rowScales, zeros + (long)r * _groups, cols, groupSize, codes + (long)u * cols, multipliers + u * multiplierStride, units[u])
                                    : WithOutliers(dotWeighted != null
                                        ? dotWeighted(q, rowScales, rowScaleZeros, groupSums + (u - t0) * _groups, cols, groupSize,
                                            codes + (long)u * cols, multipliers + u * multiplierStride, units[u])
                                        : dot(q, rowScales, rowScaleZeros, groupSums + (u - t0) * _groups, cols, groupSize,
                                            codes + (long)u * cols, activationScales + u * activationScaleStride), r, q, rowScales, values + (long)u * cols);
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// Where a thread's second stream starts in [rowStart, rowEnd): the first row of the second half in whole tiles, or
    /// <paramref name="rowEnd"/> (one stream) for prefill and for ranges under two tiles.
    /// </summary>
    private static int SecondStream(int rowStart, int rowEnd, int tokens) =>
        tokens >= 4 || rowEnd - rowStart < 2 * RowTile ? rowEnd : rowStart + (rowEnd - rowStart + 2 * RowTile - 1) / (2 * RowTile) * RowTile;

    /// <summary>
    /// Step k is rows 4k .. 4k+3 of both of decode's streams: their codes, scales and zero points. Small steps, as a
    /// thread checks for its next dispatch between them (a whole tile took a few microseconds to issue).
    /// </summary>
    public long PrefetchDecodeStep(int rowStart, int rowEnd, int step)
    {
        const int StepRows = 4;
        if (rowStart < 0 || rowEnd > rows) return 0;
        int secondHalf = SecondStream(rowStart, rowEnd, tokens: 1), r0 = rowStart + step * StepRows;
        if (r0 >= secondHalf) return 0;
        int n = Math.Min(secondHalf, r0 + StepRows) - r0, paired = secondHalf + (r0 - rowStart);
        int pairedRows = Math.Clamp(rowEnd - paired, 0, StepRows);
        return PrefetchRows(r0, n) + PrefetchRows(paired, pairedRows);
    }

    /// <summary>Prefetches <paramref name="count"/> rows' codes, scales and zero points; returns their bytes.</summary>
    private long PrefetchRows(int firstRow, int count)
    {
        if (count <= 0) return 0;
        StreamPrefetch.Range(qweight + firstRow * _rowBytes, count * _rowBytes);
        PrefetchScales(firstRow, count);
        return count * (_rowBytes + 3L * _groups);
    }

    /// <summary>Prefetches the scales and zero points of the tile at <paramref name="firstRow"/>, up to row <paramref name="end"/>.</summary>
    private void PrefetchTileScales(int firstRow, int end)
    {
        if (firstRow < end) PrefetchScales(firstRow, Math.Min(RowTile, end - firstRow));
    }

    /// <summary>Prefetches the scales and zero points of <paramref name="count"/> rows from <paramref name="firstRow"/>.</summary>
    private void PrefetchScales(int firstRow, int count)
    {
        long n = (long)count * _groups;
        StreamPrefetch.Range((byte*)(scales + (long)firstRow * _groups), n * 2);
        StreamPrefetch.Range(zeros + (long)firstRow * _groups, n);
    }

    /// <summary>
    /// One vectorized conversion of a tile's scales and scale·zero products (consecutive rows are contiguous). Decode runs it
    /// every 16 rows, so it is written out for AVX-512: through TensorPrimitives it took about 56 ns per 256 scales, some 15 % of the rows' kernel time.
    /// </summary>
    private void ConvertTileScales(int firstRow, int tileRows, float* tileScales, float* tileScaleZeros)
    {
        int n = tileRows * _groups;
        Half* tileHalves = scales + (long)firstRow * _groups;
        byte* tileZeros = zeros + (long)firstRow * _groups;
        HalfToSingle.Convert(tileHalves, tileScales, n);
        int i = 0;
        if (Avx512F.IsSupported)
            for (; i + 16 <= n; i += 16)
                (Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(tileZeros + i))) * Vector512.Load(tileScales + i)).Store(tileScaleZeros + i);
        var scaleZeroSpan = new Span<float>(tileScaleZeros + i, n - i);
        TensorPrimitives.ConvertTruncating<byte, float>(new ReadOnlySpan<byte>(tileZeros + i, n - i), scaleZeroSpan);
        TensorPrimitives.Multiply(scaleZeroSpan, new ReadOnlySpan<float>(tileScales + i, n - i), scaleZeroSpan);
    }

    /// <summary>A kernel's result for row <paramref name="r"/>, corrected by the row's outliers when it has any.</summary>
    private float WithOutliers(float result, int r, byte* q, float* rowScales, float* x) =>
        outlierRowStart == null ? result : result + OutlierCorrection(r, q, rowScales, x);

    /// <summary>Σ (outlier − grid value) · x over the row's outliers, in full precision.</summary>
    private float OutlierCorrection(int r, byte* q, float* rowScales, float* x)
    {
        float sum = 0;
        for (int j = outlierRowStart[r]; j < outlierRowStart[r + 1]; j++)
        {
            int c = outlierCols[j], g = c / groupSize;
            float grid = (Code(q, c) - zeros[(long)r * _groups + g]) * rowScales[g];
            sum += ((float)outlierValues[j] - grid) * x[c];
        }
        return sum;
    }

    /// <summary>Managed copies for a device upload: packed codes, f32 scales and zero points, outliers (CSR; one-element placeholders when none).</summary>
    public (byte[] Codes, float[] Scales, float[] Zeros, int[] OutlierRowStart, int[] OutlierCols, float[] OutlierValues) HostCopies()
    {
        long groupCount = (long)rows * _groups;
        if (sparse24) return ExpandToDense().HostCopies();
        byte[] codes;
        if (_container == 3)
        {
            codes = new byte[checked(rows * (long)cols / 2)];
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                    codes[(long)r * cols / 2 + c / 2] |= (byte)(Code(qweight + r * _rowBytes, c) << 4 * (c & 1));
        }
        else codes = new ReadOnlySpan<byte>(qweight, checked((int)(rows * _rowBytes))).ToArray();
        var scaleCopy = new float[groupCount];
        TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(scales, (int)groupCount), scaleCopy);
        var zeroCopy = new float[groupCount];
        TensorPrimitives.ConvertTruncating<byte, float>(new ReadOnlySpan<byte>(zeros, (int)groupCount), zeroCopy);
        if (outlierRowStart == null) return (codes, scaleCopy, zeroCopy, [0], [0], [0f]);
        int count = outlierRowStart[rows];
        var values = new float[count];
        for (int j = 0; j < count; j++) values[j] = (float)outlierValues[j];
        return (codes, scaleCopy, zeroCopy, new ReadOnlySpan<int>(outlierRowStart, rows + 1).ToArray(), new ReadOnlySpan<int>(outlierCols, count).ToArray(), values);
    }

    /// <summary>Checks that the outlier lists index inside the matrix; a tampered pack must not write out of bounds.</summary>
    public static void ValidateOutliers(int* rowStart, int* columns, int rows, int cols, int count, string tensor, string path)
    {
        if (rowStart[0] != 0 || rowStart[rows] != count)
            throw new PackFormatException(path, $"tensor '{tensor}' has an inconsistent outlier row index.");
        for (int r = 0; r < rows; r++)
            if (rowStart[r + 1] < rowStart[r]) throw new PackFormatException(path, $"tensor '{tensor}' has an inconsistent outlier row index.");
        for (int j = 0; j < count; j++)
            if ((uint)columns[j] >= (uint)cols) throw new PackFormatException(path, $"tensor '{tensor}' has an outlier outside its {cols} columns.");
    }
}
