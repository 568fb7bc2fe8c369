using System.Runtime.InteropServices;
using ModelBuild.Runtime.Kernels;
using ModelBuild.Runtime.Weights;

namespace ModelBuild.Runtime.Tests;

/// <summary>
/// Every CPU kernel path against a double-precision product of the dequantized weights. The scalar path
/// keeps float activations (tight tolerance); the SIMD paths round activations to int8 per 32-block, so
/// their error is bounded by Σ|w_i| · scale_b(i) / 2, which the test computes per output.
/// </summary>
public unsafe class KernelAgreementTests
{
    public static TheoryData<int, int, int, int, int, bool> Shapes => new()
    {
        // bits, rows, cols, group, tokens, outliers
        { 4, 37, 256, 128, 1, false },
        { 4, 129, 384, 128, 3, true },
        { 4, 16, 640, 640, 2, false },   // one group per row
        { 4, 5, 512, 256, 70, false },   // more tokens than a tile
        { 3, 33, 256, 128, 2, false },   // 3-bit codes: low bits four per byte plus a plane of high bits, a chunk pair
        { 3, 9, 384, 128, 5, true },     // 3-bit: a chunk pair and a single chunk, outliers
        { 3, 5, 96, 32, 2, false },      // 3-bit, not whole 128-column chunks: 4-bit slots, reference fallback
        { 2, 17, 128, 128, 1, false },   // 2-bit codes four per byte
        { 2, 9, 384, 128, 3, true },
        { 2, 6, 512, 256, 5, false },
        { 2, 4, 96, 32, 2, false },      // not whole 128-column chunks: 4-bit slots, reference fallback
        { 8, 41, 256, 128, 2, true },
        { 8, 9, 96, 32, 3, false },
        { 8, 7, 192, 64, 1, false },
        { 4, 11, 96, 32, 2, false },     // no int4 kernel for 32-column groups: reference fallback
        { 4, 3, 200, 8, 1, false },      // columns not a multiple of 32: float activations
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Group_quantized_paths_match_the_dequantized_product(int bits, int rows, int cols, int group, int tokens, bool outliers)
    {
        using var m = RandomQuantized.Create(bits, rows, cols, group, outliers, seed: rows * 31 + cols);
        var x = RandomValues(tokens * cols, seed: cols);
        var dense = m.Dequantized();
        var batch = Batch(x, tokens, cols);
        var exact = Exact(dense, x, rows, cols, tokens);

        foreach (var path in new[] { KernelPath.Scalar, KernelPath.Avx2, KernelPath.Avx512 }.Where(KernelPaths.IsSupported))
        {
            var y = Run(m.Matrix, batch, path);
            for (int t = 0; t < tokens; t++)
                for (int r = 0; r < rows; r++)
                {
                    double magnitude = 0, roundingBound = 0;
                    for (int c = 0; c < cols; c++)
                    {
                        double w = Math.Abs(dense[r * cols + c]);
                        magnitude += w * Math.Abs(x[t * cols + c]);
                        if (batch.CanQuantize && path != KernelPath.Scalar && m.Matrix.UsesInt8Activations(path, batch))
                            roundingBound += w * batch.BlockScales[t * (cols / 32) + c / 32] / 2;
                    }
                    double allowed = roundingBound * 1.0001 + 1e-5 * magnitude + 1e-6;
                    double error = Math.Abs(y[t * rows + r] - exact[t * rows + r]);
                    Assert.True(error <= allowed, $"{path} t={t} r={r}: |{y[t * rows + r]} - {exact[t * rows + r]}| = {error} > {allowed}");
                }
        }
    }

    public static TheoryData<int, int, int, int, int, bool> DeviceShapes
    {
        get
        {
            var shapes = Shapes;
            shapes.Add(4, 7, 36, 12, 2, true); // rows of 18 bytes: the interleaved words end in a padded one
            shapes.Add(4, 600, 128, 128, 110, true); // enough (row, token) threads that the columns are not sliced
            return shapes;
        }
    }

    [Theory]
    [MemberData(nameof(DeviceShapes))]
    public void Ilgpu_kernels_on_the_cpu_accelerator_match_the_dequantized_product(int bits, int rows, int cols, int group, int tokens, bool outliers)
    {
        using var m = RandomQuantized.Create(bits, rows, cols, group, outliers, seed: rows + bits);
        var x = RandomValues(tokens * cols, seed: 3);
        var exact = Exact(m.Dequantized(), x, rows, cols, tokens);
        using var device = Gpu.IlgpuDevice.Create(requireCuda: false);
        using var onDevice = new Gpu.IlgpuMatrix(m.Matrix, device);
        var y = Run(onDevice, Batch(x, tokens, cols), KernelPath.Ilgpu);
        for (int i = 0; i < y.Length; i++) Assert.True(Math.Abs(y[i] - exact[i]) < 1e-4 * (1 + Math.Abs(exact[i])), $"{i}: {y[i]} vs {exact[i]}");

        // Dense rows (f16 and bf16 packs) through the device as well.
        foreach (var element in new[] { DenseElement.F16, DenseElement.BF16 })
        {
            var (bits16, values) = SixteenBitRows(element, rows * cols, 8);
            var denseExact = Exact(values, x, rows, cols, tokens);
            fixed (ushort* hp = bits16)
            {
                using var dense = new Gpu.IlgpuMatrix(new DenseMatrix((byte*)hp, rows, cols, element), device);
                var yd = Run(dense, Batch(x, tokens, cols), KernelPath.Ilgpu);
                for (int i = 0; i < yd.Length; i++) Assert.True(Math.Abs(yd[i] - denseExact[i]) < 1e-4 * (1 + Math.Abs(denseExact[i])), $"{element} {i}: {yd[i]} vs {denseExact[i]}");
            }
        }
        // And f32 rows (f32 packs).
        var floats = RandomValues(rows * cols, seed: 9);
        var floatExact = Exact(floats, x, rows, cols, tokens);
        fixed (float* fp = floats)
        {
            using var dense = new Gpu.IlgpuMatrix(new DenseMatrix((byte*)fp, rows, cols, DenseElement.F32), device);
            var yf = Run(dense, Batch(x, tokens, cols), KernelPath.Ilgpu);
            for (int i = 0; i < yf.Length; i++) Assert.True(Math.Abs(yf[i] - floatExact[i]) < 1e-4 * (1 + Math.Abs(floatExact[i])), $"f32 {i}: {yf[i]} vs {floatExact[i]}");
        }
    }

    /// <summary>Random 16-bit floats of the given kind, and their exact float32 values.</summary>
    private static (ushort[] Bits, float[] Values) SixteenBitRows(DenseElement element, int count, int seed)
    {
        var bits = RandomValues(count, seed).Select(v => element == DenseElement.BF16
            ? Format.Pack.BFloat16Bits.FromSingle(v) : BitConverter.HalfToUInt16Bits((Half)v)).ToArray();
        var values = bits.Select(b => element == DenseElement.BF16 ? Format.Pack.BFloat16Bits.ToSingle(b) : (float)BitConverter.UInt16BitsToHalf(b)).ToArray();
        return (bits, values);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(3)]
    [InlineData(2)]
    public void Avx2_and_Avx512_do_the_same_integer_arithmetic(int bits)
    {
        if (!KernelPaths.IsSupported(KernelPath.Avx512)) return;
        using var m = RandomQuantized.Create(bits, 64, 1024, 128, false, seed: 5);
        var batch = Batch(RandomValues(4 * 1024, 6), 4, 1024);
        var a = Run(m.Matrix, batch, KernelPath.Avx2);
        var b = Run(m.Matrix, batch, KernelPath.Avx512);
        for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(a[i] - b[i]) <= 1e-4f * (1 + Math.Abs(a[i])), $"{i}: {a[i]} vs {b[i]}");
    }

    [Fact]
    public void The_simd_error_is_the_activation_rounding_and_nothing_more()
    {
        // With activations already on each block's int8 grid, the SIMD paths see exact inputs and must agree
        // with the exact product to float precision: a kernel that mixed up columns could not.
        using var m = RandomQuantized.Create(4, 23, 512, 128, false, seed: 9);
        int cols = 512;
        var x = RandomValues(cols, 10);
        for (int b = 0; b < cols / 32; b++)
        {
            float max = 0;
            for (int c = b * 32; c < b * 32 + 32; c++) max = Math.Max(max, Math.Abs(x[c]));
            for (int c = b * 32; c < b * 32 + 32; c++) x[c] = MathF.Round(x[c] / (max / 127)) * (max / 127);
        }
        var exact = Exact(m.Dequantized(), x, 23, cols, 1);
        foreach (var path in new[] { KernelPath.Avx2, KernelPath.Avx512 }.Where(KernelPaths.IsSupported))
        {
            var y = Run(m.Matrix, Batch(x, 1, cols), path);
            for (int r = 0; r < 23; r++) Assert.True(Math.Abs(y[r] - exact[r]) < 1e-4 * (1 + Math.Abs(exact[r])), $"{path} row {r}: {y[r]} vs {exact[r]}");
        }
    }

    [Fact]
    public void Int8_activation_blocks_take_a_whole_number_of_units_and_round_half_to_even()
    {
        var rng = new Random(11);
        var codes = new sbyte[32];
        for (int trial = 0; trial < 500; trial++)
        {
            var x = RandomValues(32, trial);
            if (trial % 50 == 0) Array.Clear(x); // all-zero block: scale 0, codes 0
            float max = x.Max(Math.Abs);
            // The token's largest magnitude: this block's own (its multiplier is then the largest) or up to 10⁴ times it.
            float tokenMax = trial % 5 == 0 ? max : max * (float)Math.Pow(10, rng.NextDouble() * 4);
            float unit = ActivationBatch.TokenUnit([.. x, tokenMax]);
            ActivationBatch.QuantizeBlock(x, codes, unit, out float scale, out short multiplier, out float sum);
            Assert.Equal(ActivationBatch.Multiplier(max, unit), multiplier);
            Assert.Equal(unit * multiplier, scale);
            if (max > 0)
            {
                // Up to rounding, max/127 ≤ scale < max/127 + unit: the block's scale grows by less than one unit.
                Assert.InRange(multiplier, 1, ActivationBatch.MaxMultiplier);
                Assert.InRange(scale, max / 127f * (1 - 1e-6f), (max / 127f + unit) * (1 + 1e-6f));
                if (trial % 5 == 0) Assert.InRange(multiplier, ActivationBatch.MaxMultiplier - 1, ActivationBatch.MaxMultiplier);
            }
            else Assert.Equal(0, multiplier);
            int total = 0;
            for (int i = 0; i < 32; i++)
            {
                int expected = max > 0 ? (int)MathF.Round(x[i] * (1f / scale), MidpointRounding.ToEven) : 0;
                Assert.Equal(expected, codes[i]);
                Assert.InRange(codes[i], -127, 127);
                total += codes[i];
            }
            Assert.Equal(total * scale, sum);
        }
    }

    [Fact]
    public void Int4_kernels_hold_the_largest_lane_sums()
    {
        // Codes all 15 against activations all equal: every byte product is 15 · 127 and every block multiplier the
        // largest, the most a kernel's 32-bit lanes ever hold (8 · 15 · 127 · 32767 < 2³¹).
        using var m = RandomQuantized.Create(4, 33, 512, 128, outliers: false, seed: 5, codeByte: 0xFF);
        var x = Enumerable.Repeat(0.75f, 2 * 512).ToArray();
        var batch = Batch(x, 2, 512);
        Assert.All(batch.NibbleLaneMultipliers.Span.ToArray(), v => Assert.Equal(ActivationBatch.MaxMultiplier, v));
        var exact = Exact(m.Dequantized(), x, 33, 512, 2);
        foreach (var path in new[] { KernelPath.Avx2, KernelPath.Avx512 }.Where(KernelPaths.IsSupported))
        {
            var y = Run(m.Matrix, batch, path);
            for (int i = 0; i < y.Length; i++) Assert.True(Math.Abs(y[i] - exact[i]) <= 1e-4 * Math.Abs(exact[i]) + 1e-4, $"{path} {i}: {y[i]} vs {exact[i]}");
        }
    }

    [Fact]
    public void F16_register_conversion_is_exact_for_every_half_value()
    {
        // All 65536 bit patterns: normals, subnormals, zeros, infinities and NaNs.
        for (int start = 0; start < 65536; start += 16)
        {
            var bits = Enumerable.Range(start, 16).Select(i => (ushort)i).ToArray();
            var expected = bits.Select(b => (float)BitConverter.UInt16BitsToHalf(b)).ToArray();
            if (System.Runtime.Intrinsics.X86.Avx512F.IsSupported)
            {
                var v = HalfDot.ToSingle(System.Runtime.Intrinsics.Vector256.Create(bits));
                for (int i = 0; i < 16; i++) AssertSameFloat(expected[i], v[i], bits[i]);
            }
            if (System.Runtime.Intrinsics.X86.Avx2.IsSupported)
                for (int half = 0; half < 2; half++)
                {
                    var v = HalfDot.ToSingle(System.Runtime.Intrinsics.Vector128.Create(bits.AsSpan(half * 8, 8)));
                    for (int i = 0; i < 8; i++) AssertSameFloat(expected[half * 8 + i], v[i], bits[half * 8 + i]);
                }
        }
    }

    private static void AssertSameFloat(float expected, float actual, ushort bits)
    {
        if (float.IsNaN(expected)) Assert.True(float.IsNaN(actual), $"0x{bits:X4}: {actual} should be NaN");
        else Assert.True(BitConverter.SingleToUInt32Bits(expected) == BitConverter.SingleToUInt32Bits(actual), $"0x{bits:X4}: {actual} vs {expected}");
    }

    [Theory]
    [InlineData(DenseElement.F16, 19, 200, 3)]  // vector loops plus a tail of 8
    [InlineData(DenseElement.F16, 5, 33, 1)]    // decode, shorter than one AVX-512 step
    [InlineData(DenseElement.BF16, 19, 200, 3)]
    [InlineData(DenseElement.BF16, 7, 1031, 1)] // decode with an odd tail
    public void Sixteen_bit_float_rows_agree_across_paths(DenseElement element, int rows, int cols, int tokens)
    {
        var (w, values) = SixteenBitRows(element, rows * cols, 3);
        var x = RandomValues(tokens * cols, 4);
        var exact = Exact(values, x, rows, cols, tokens);
        fixed (ushort* wp = w)
        {
            var m = new DenseMatrix((byte*)wp, rows, cols, element);
            foreach (var path in new[] { KernelPath.Scalar, KernelPath.Avx2, KernelPath.Avx512 }.Where(KernelPaths.IsSupported))
            {
                var y = Run(m, Batch(x, tokens, cols), path);
                for (int i = 0; i < y.Length; i++) Assert.True(Math.Abs(y[i] - exact[i]) < 1e-4, $"{path} {i}: {y[i]} vs {exact[i]}");
            }
        }
    }

    [Theory]
    [InlineData(DenseElement.F16, 71, 1031, 3, 70)]  // 67 rows: two streams of 33 and a last row alone; an odd tail of columns
    [InlineData(DenseElement.BF16, 64, 256, 0, 64)]
    public void Sixteen_bit_decode_in_two_streams_gives_each_row_what_it_gives_alone(DenseElement element, int rows, int cols, int rowStart, int rowEnd)
    {
        var (w, _) = SixteenBitRows(element, rows * cols, 5);
        var batch = Batch(RandomValues(cols, 6), 1, cols);
        var together = new float[rows];
        var alone = new float[rows];
        Array.Fill(together, float.NaN);
        fixed (ushort* wp = w)
        fixed (float* y = together, single = alone)
        {
            var m = new DenseMatrix((byte*)wp, rows, cols, element);
            foreach (var path in new[] { KernelPath.Avx2, KernelPath.Avx512 }.Where(KernelPaths.IsSupported))
            {
                m.MultiplyRows(batch, y, rows, rowStart, rowEnd, path);
                for (int r = rowStart; r < rowEnd; r++) m.MultiplyRows(batch, single, rows, r, r + 1, path);
                for (int r = 0; r < rows; r++)
                    if (r >= rowStart && r < rowEnd) Assert.Equal(alone[r], together[r]);
                    else Assert.True(float.IsNaN(together[r]), $"{path}: row {r} is outside [{rowStart}, {rowEnd}) but was written");
            }
        }
    }

    [Fact]
    public void Asking_for_a_path_the_cpu_lacks_is_an_error_not_a_fallback()
    {
        Assert.Equal(KernelPaths.Best, KernelPaths.Resolve(KernelPath.Auto));
        foreach (var path in Enum.GetValues<KernelPath>().Where(p => !KernelPaths.IsSupported(p)))
            Assert.Throws<PlatformNotSupportedException>(() => KernelPaths.Resolve(path));
    }

    [Theory]
    [InlineData(4, 37, 256, 128, 7, true)]    // four-token passes plus a tail of three
    [InlineData(4, 20, 384, 384, 9, false)]  // odd chunk count, one group per row
    [InlineData(4, 5, 512, 256, 70, false)]  // across the 64-token tile
    [InlineData(2, 21, 384, 128, 9, true)]   // 2-bit: a chunk pair and a single chunk
    [InlineData(2, 6, 512, 256, 66, false)]
    [InlineData(3, 21, 384, 128, 9, true)]   // 3-bit: a chunk pair and a single chunk
    [InlineData(3, 6, 512, 256, 66, false)]
    public void Prefill_gives_each_token_exactly_what_decoding_it_alone_gives(int bits, int rows, int cols, int group, int tokens, bool outliers)
    {
        if (!KernelPaths.IsSupported(KernelPath.Avx512)) return;
        using var m = RandomQuantized.Create(bits, rows, cols, group, outliers, seed: rows + cols);
        var x = RandomValues(tokens * cols, seed: tokens);
        var together = Run(m.Matrix, Batch(x, tokens, cols), KernelPath.Avx512);
        for (int t = 0; t < tokens; t++)
        {
            var alone = Run(m.Matrix, Batch(x[(t * cols)..((t + 1) * cols)], 1, cols), KernelPath.Avx512);
            for (int r = 0; r < rows; r++) Assert.Equal(alone[r], together[t * rows + r]);
        }
    }

    [Theory]
    [InlineData(4, 141, 256, 128, 0, 141, true)]  // halves of 80 + 61 rows: the second ends in a partial tile
    [InlineData(4, 200, 384, 128, 7, 78, false)]  // a thread's range that starts mid-matrix: 48 + 23 rows
    [InlineData(3, 90, 384, 128, 3, 90, true)]    // 48 + 39
    [InlineData(3, 90, 384, 128, 3, 90, false)]   // the same without outliers: whole tiles of row pairs in one call
    [InlineData(2, 64, 128, 128, 0, 64, false)]   // 32 + 32: whole tiles only
    [InlineData(2, 70, 384, 128, 5, 70, true)]     // 2-bit, a chunk pair and a single chunk: 48 + 17
    [InlineData(8, 99, 96, 32, 1, 98, true)]      // 8-bit codes: 64 + 33
    [InlineData(8, 99, 96, 32, 1, 98, false)]     // the same without outliers: whole tiles of row pairs in one call
    public void Decode_in_two_streams_gives_each_row_what_it_gives_alone(int bits, int rows, int cols, int group, int rowStart, int rowEnd, bool outliers)
    {
        using var m = RandomQuantized.Create(bits, rows, cols, group, outliers, seed: rows * 7 + rowStart);
        var batch = Batch(RandomValues(cols, seed: rows), 1, cols);
        foreach (var path in new[] { KernelPath.Avx2, KernelPath.Avx512 }.Where(KernelPaths.IsSupported))
        {
            var together = new float[rows];
            var alone = new float[rows];
            Array.Fill(together, float.NaN);
            fixed (float* y = together, single = alone)
            {
                // A range of 32 rows or more is read as two interleaved halves; a single row is read on its own.
                m.Matrix.MultiplyRows(batch, y, rows, rowStart, rowEnd, path);
                for (int r = rowStart; r < rowEnd; r++) m.Matrix.MultiplyRows(batch, single, rows, r, r + 1, path);
            }
            for (int r = 0; r < rows; r++)
                if (r >= rowStart && r < rowEnd) Assert.Equal(alone[r], together[r]);
                else Assert.True(float.IsNaN(together[r]), $"{path}: row {r} is outside [{rowStart}, {rowEnd}) but was written");
        }
    }

    internal static float[] Run(IWeightMatrix m, ActivationBatch batch, KernelPath path)
    {
        var y = new float[batch.Tokens * m.Rows];
        using var pool = new Threading.WorkerPool(2);
        new MatMul(pool, path).Multiply(m, batch, y);
        return y;
    }

    internal static ActivationBatch Batch(float[] x, int tokens, int cols)
    {
        var batch = new ActivationBatch(tokens, cols);
        batch.Reset(tokens);
        x.CopyTo(batch.Values, 0);
        batch.EnsureQuantizedIfPossible();
        return batch;
    }

    private static double[] Exact(float[] w, float[] x, int rows, int cols, int tokens)
    {
        var y = new double[tokens * rows];
        for (int t = 0; t < tokens; t++)
            for (int r = 0; r < rows; r++)
            {
                double s = 0;
                for (int c = 0; c < cols; c++) s += (double)w[r * cols + c] * x[t * cols + c];
                y[t * rows + r] = s;
            }
        return y;
    }

    internal static float[] RandomValues(int n, int seed)
    {
        var rng = new Random(seed);
        // Heavy-ish tails, like real activations: a few large values per block.
        return Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() * 2 - 1) * (rng.Next(16) == 0 ? 8 : 1))).ToArray();
    }
}

/// <summary>A random group-quantized matrix in unmanaged memory, laid out as a pack stores it.</summary>
internal sealed unsafe class RandomQuantized : IDisposable
{
    private readonly List<nint> _blocks = [];
    public required GroupQuantizedMatrix Matrix { get; init; }
    public required int Rows, Cols;

    public float[] Dequantized()
    {
        var w = new float[Rows * Cols];
        for (int r = 0; r < Rows; r++) Matrix.DequantizeRow(r, w.AsSpan(r * Cols, Cols));
        return w;
    }

    public static RandomQuantized Create(int bits, int rows, int cols, int group, bool outliers, int seed, byte? codeByte = null)
    {
        var rng = new Random(seed);
        int groups = cols / group;
        var blocks = new List<nint>();
        T* Alloc<T>(int count) where T : unmanaged
        {
            var p = (T*)NativeMemory.AlignedAlloc((nuint)(Math.Max(1, count) * sizeof(T)), 64);
            blocks.Add((nint)p);
            return p;
        }
        int rowBytes = (int)Format.Pack.TensorLayout.PackedRowBytes(cols, bits);
        var q = Alloc<byte>(rows * rowBytes);
        for (int i = 0; i < rows * rowBytes; i++)
            // Every byte is valid for 8-bit codes and for 2- and 3-bit codes packed to their bits; codes in 4-bit slots sit in nibbles.
            q[i] = codeByte ?? (Format.Pack.TensorLayout.ContainerBits(bits, cols) is 2 or 3 or 8 ? (byte)rng.Next(256) : (byte)(rng.Next(1 << bits) | rng.Next(1 << bits) << 4));
        var scales = Alloc<Half>(rows * groups);
        var zeros = Alloc<byte>(rows * groups);
        for (int i = 0; i < rows * groups; i++)
        {
            scales[i] = (Half)(0.001 + rng.NextDouble() * 0.05);
            zeros[i] = (byte)rng.Next(1 << bits);
        }
        int* rowStart = null, outlierCols = null;
        Half* values = null;
        if (outliers)
        {
            rowStart = Alloc<int>(rows + 1);
            var cols_ = new List<int>();
            for (int r = 0; r < rows; r++)
            {
                rowStart[r] = cols_.Count;
                foreach (int c in Enumerable.Range(0, cols).Where(_ => rng.Next(50) == 0)) cols_.Add(c);
            }
            rowStart[rows] = cols_.Count;
            outlierCols = Alloc<int>(cols_.Count);
            values = Alloc<Half>(cols_.Count);
            for (int j = 0; j < cols_.Count; j++)
            {
                outlierCols[j] = cols_[j];
                values[j] = (Half)(rng.NextDouble() * 4 - 2);
            }
        }
        var m = new GroupQuantizedMatrix(q, scales, zeros, rows, cols, bits, group, rowStart, outlierCols, values);
        var result = new RandomQuantized { Matrix = m, Rows = rows, Cols = cols };
        result._blocks.AddRange(blocks);
        return result;
    }

    public void Dispose()
    {
        foreach (var p in _blocks) NativeMemory.AlignedFree((void*)p);
    }
}
