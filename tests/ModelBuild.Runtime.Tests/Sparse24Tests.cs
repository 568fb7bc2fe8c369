using System.Runtime.InteropServices;
using ModelBuild.Format.Pack;
using ModelBuild.Runtime.Kernels;
using ModelBuild.Runtime.Weights;

namespace ModelBuild.Runtime.Tests;

/// <summary>
/// 2:4-packed group-quantized matrices against the same codes in the dense layout: the dense matrix (tested by
/// <see cref="KernelAgreementTests"/>) is the reference for dequantization and for every kernel path.
/// </summary>
public unsafe class Sparse24Tests
{
    [Theory]
    [InlineData(4, 9, 128, 128, 1)]    // a single chunk
    [InlineData(4, 37, 384, 128, 3)]   // a chunk pair and a single chunk
    [InlineData(4, 16, 512, 256, 70)]  // groups of two chunks, more tokens than a tile
    [InlineData(3, 5, 256, 128, 2)]
    [InlineData(2, 7, 256, 256, 2)]    // 2-bit codes (dense: four per byte; 2:4: 4-bit slots)
    [InlineData(4, 77, 256, 128, 1)]   // decode: each thread's 38-39 rows read as two interleaved streams
    public void Every_path_matches_the_same_codes_in_the_dense_layout(int bits, int rows, int cols, int group, int tokens)
    {
        using var pair = SparsePair.Create(bits, rows, cols, group, seed: rows * 7 + cols);
        var w = new float[cols];
        var wd = new float[cols];
        for (int r = 0; r < rows; r++)
        {
            pair.Sparse.DequantizeRow(r, w);
            pair.Dense.DequantizeRow(r, wd);
            Assert.Equal(wd, w);
            Assert.True(w.Count(v => v == 0) >= cols / 2, "at least two of every four weights are zero");
        }

        var x = KernelAgreementTests.RandomValues(tokens * cols, seed: tokens);
        var expanded = pair.Sparse.ExpandToDense();
        Assert.False(expanded.IsSparse24);
        var reference = Run(pair.Dense, x, tokens, cols, KernelPath.Scalar);
        foreach (var path in new[] { KernelPath.Scalar, KernelPath.Avx2, KernelPath.Avx512 }.Where(KernelPaths.IsSupported))
        {
            var expected = Run(pair.Dense, x, tokens, cols, path);
            // Where the sparse matrix has a kernel it uses the same int8 activations as the dense one; elsewhere it takes
            // the float reference. Its dense expansion runs the dense kernels. Only the order of float additions differs.
            AssertClose(pair.Sparse.UsesInt8Activations(path, Batch(x, tokens, cols)) ? expected : reference, Run(pair.Sparse, x, tokens, cols, path), $"{path} 2:4");
            AssertClose(expected, Run(expanded, x, tokens, cols, path), $"{path} expanded");
        }
        Assert.Equal(rows * (cols / 128 * 48L + cols / group * 3L), pair.Sparse.PackedBytes);
    }

    [Theory]
    [InlineData(37, 384, 128, 7)]   // four-token passes plus a tail of three; a chunk pair and a single chunk
    [InlineData(6, 512, 256, 66)]   // across the 64-token tile
    public void Prefill_gives_each_token_exactly_what_decoding_it_alone_gives(int rows, int cols, int group, int tokens)
    {
        if (!KernelPaths.IsSupported(KernelPath.Avx512)) return;
        using var pair = SparsePair.Create(4, rows, cols, group, seed: tokens);
        var x = KernelAgreementTests.RandomValues(tokens * cols, seed: rows);
        var together = Run(pair.Sparse, x, tokens, cols, KernelPath.Avx512);
        for (int t = 0; t < tokens; t++)
        {
            var alone = Run(pair.Sparse, x[(t * cols)..((t + 1) * cols)], 1, cols, KernelPath.Avx512);
            for (int r = 0; r < rows; r++) Assert.Equal(alone[r], together[t * rows + r]);
        }
    }

    [Theory]
    [InlineData(141, 384, 128, 0, 141)]  // halves of 80 + 61 rows: the second ends in a partial tile; a chunk pair and a single chunk
    [InlineData(200, 256, 256, 7, 78)]   // a thread's range that starts mid-matrix: 48 + 23 rows, groups of two chunks
    public void Decode_in_two_streams_gives_each_row_what_it_gives_alone(int rows, int cols, int group, int rowStart, int rowEnd)
    {
        if (!KernelPaths.HasSparse24Kernels(KernelPath.Avx512)) return;
        using var pair = SparsePair.Create(4, rows, cols, group, seed: rows + rowStart);
        var batch = Batch(KernelAgreementTests.RandomValues(cols, seed: rows), 1, cols);
        var together = new float[rows];
        var alone = new float[rows];
        Array.Fill(together, float.NaN);
        fixed (float* y = together, single = alone)
        {
            // 32 rows or more go through the two-row kernel a tile at a time; a single row through the one-row kernel.
            pair.Sparse.MultiplyRows(batch, y, rows, rowStart, rowEnd, KernelPath.Avx512);
            for (int r = rowStart; r < rowEnd; r++) pair.Sparse.MultiplyRows(batch, single, rows, r, r + 1, KernelPath.Avx512);
        }
        for (int r = 0; r < rows; r++)
            if (r >= rowStart && r < rowEnd) Assert.Equal(alone[r], together[r]);
            else Assert.True(float.IsNaN(together[r]), $"row {r} is outside [{rowStart}, {rowEnd}) but was written");
    }

    [Fact]
    public void The_device_path_runs_a_sparse_matrix_as_its_dense_expansion()
    {
        using var pair = SparsePair.Create(4, 11, 256, 128, seed: 3);
        var dense = pair.Dense.HostCopies();
        var sparse = pair.Sparse.HostCopies();
        Assert.Equal(dense.Codes, sparse.Codes);
        Assert.Equal(dense.Zeros, sparse.Zeros);
        Assert.Equal(dense.Scales, sparse.Scales);

        // 2-bit codes: the dense layout packs them four per byte, the expansion keeps 4-bit slots; the device reads either.
        using var twoBit = SparsePair.Create(2, 5, 256, 128, seed: 4);
        var x = KernelAgreementTests.RandomValues(2 * 256, seed: 5);
        using var device = Gpu.IlgpuDevice.Create(requireCuda: false);
        using var onDevice = new Gpu.IlgpuMatrix(twoBit.Sparse, device);
        AssertClose(Run(twoBit.Dense, x, 2, 256, KernelPath.Scalar), Run(onDevice, x, 2, 256, KernelPath.Ilgpu), "ILGPU 2-bit 2:4");
    }

    [Theory]
    [InlineData(7, 128, 1)]
    [InlineData(19, 384, 1)]
    [InlineData(5, 256, 9)]   // prefill: rows expanded once, reused per token
    public void F16_rows_pruned_2_4_match_their_dense_product_on_every_path(int rows, int cols, int tokens)
    {
        var rng = new Random(rows + cols);
        var dense = new Half[rows * cols];
        for (int q = 0; q < dense.Length; q += 4)
        {
            int a = rng.Next(4), b = (a + 1 + rng.Next(3)) % 4;
            dense[q + a] = (Half)(rng.NextDouble() * 2 - 1);
            if (rng.Next(8) != 0) dense[q + b] = (Half)(rng.NextDouble() * 2 - 1);  // some quads keep one value only
        }
        var packed = Sparse24Layout.TryPackHalf(dense, rows, cols)!;
        Assert.Equal(rows * cols / 128 * 144, packed.Length);
        fixed (byte* p = packed)
        {
            var m = new Sparse24HalfMatrix(p, rows, cols);
            var w = new float[rows * cols];
            for (int r = 0; r < rows; r++) m.DequantizeRow(r, w.AsSpan(r * cols, cols));
            Assert.Equal(dense.Select(h => (float)h).ToArray(), w);
            var expanded = m.ExpandToDense();
            var we = new float[rows * cols];
            for (int r = 0; r < rows; r++) expanded.DequantizeRow(r, we.AsSpan(r * cols, cols));
            Assert.Equal(w, we);
            var x = KernelAgreementTests.RandomValues(tokens * cols, seed: 2);
            // The device keeps the expansion's f16 bits.
            using var device = Gpu.IlgpuDevice.Create(requireCuda: false);
            using var onDevice = new Gpu.IlgpuMatrix(m, device);
            foreach (var path in new[] { KernelPath.Scalar, KernelPath.Avx2, KernelPath.Avx512, KernelPath.Ilgpu }.Where(KernelPaths.IsSupported))
            {
                var y = Run(path == KernelPath.Ilgpu ? onDevice : m, x, tokens, cols, path);
                for (int t = 0; t < tokens; t++)
                    for (int r = 0; r < rows; r++)
                    {
                        double exact = 0, magnitude = 0;
                        for (int c = 0; c < cols; c++)
                        {
                            exact += (double)w[r * cols + c] * x[t * cols + c];
                            magnitude += Math.Abs((double)w[r * cols + c] * x[t * cols + c]);
                        }
                        Assert.True(Math.Abs(y[t * rows + r] - exact) <= 1e-5 * magnitude + 1e-6, $"{path} t={t} r={r}: {y[t * rows + r]} vs {exact}");
                    }
            }
        }
    }

    [Fact]
    public void Packing_refuses_a_quad_with_three_nonzero_weights()
    {
        int rows = 2, cols = 128;
        var codes = new byte[rows * cols];
        var zeros = new byte[] { 8, 8 };
        Array.Fill(codes, (byte)8);
        codes[1] = 3;
        codes[3] = 9;
        Assert.NotNull(Sparse24Layout.TryPack(codes, zeros, rows, cols, 128));
        codes[2] = 1;
        Assert.Null(Sparse24Layout.TryPack(codes, zeros, rows, cols, 128));
        var halves = new Half[128];
        halves[0] = halves[1] = (Half)1;
        Assert.NotNull(Sparse24Layout.TryPackHalf(halves, 1, 128));
        halves[3] = (Half)(-2);
        Assert.Null(Sparse24Layout.TryPackHalf(halves, 1, 128));
    }

    [Fact]
    public void A_quad_with_one_nonzero_weight_still_stores_two_distinct_positions()
    {
        var codes = new byte[128];
        Array.Fill(codes, (byte)5);
        codes[4 * 7 + 0] = 15;  // quad 7: only its first column is non-zero
        var packed = Sparse24Layout.TryPack(codes, new byte[] { 5 }, 1, 128, 128)!;
        int Position(int k) { var (b, s) = Sparse24Layout.PositionAt(k); return (packed[b] >> s) & 3; }
        int Code(int k) { var (b, s) = Sparse24Layout.CodeAt(k); return (packed[b] >> s) & 15; }
        Assert.Equal((0, 15), (Position(14), Code(14)));
        Assert.Equal((1, 5), (Position(15), Code(15)));
    }

    private static void AssertClose(float[] expected, float[] actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 2e-4f * (1 + Math.Abs(expected[i])), $"{what} {i}: {actual[i]} vs {expected[i]}");
    }

    private static ActivationBatch Batch(float[] x, int tokens, int cols) => KernelAgreementTests.Batch(x, tokens, cols);

    private static float[] Run(IWeightMatrix m, float[] x, int tokens, int cols, KernelPath path) =>
        KernelAgreementTests.Run(m, Batch(x, tokens, cols), path);

    /// <summary>Random codes pruned 2:4 (pruned = the group's zero point), packed both ways in unmanaged memory.</summary>
    private sealed class SparsePair : IDisposable
    {
        private readonly List<nint> _blocks = [];
        public GroupQuantizedMatrix Dense { get; private set; } = null!;
        public GroupQuantizedMatrix Sparse { get; private set; } = null!;

        public static SparsePair Create(int bits, int rows, int cols, int group, int seed)
        {
            var rng = new Random(seed);
            int groups = cols / group;
            var zeros = new byte[rows * groups];
            var scales = new Half[rows * groups];
            for (int i = 0; i < zeros.Length; i++)
            {
                zeros[i] = (byte)rng.Next(1 << bits);
                scales[i] = (Half)(0.001 + rng.NextDouble() * 0.05);
            }
            var codes = new byte[rows * cols];
            for (int r = 0; r < rows; r++)
                for (int c0 = 0; c0 < cols; c0 += 4)
                {
                    byte zero = zeros[r * groups + c0 / group];
                    int a = rng.Next(4), b = (a + 1 + rng.Next(3)) % 4;
                    for (int i = 0; i < 4; i++) codes[r * cols + c0 + i] = i == a || i == b ? (byte)rng.Next(1 << bits) : zero;
                }
            var dense = TensorLayout.PackCodes(codes, rows, cols, bits);
            var pair = new SparsePair();
            byte* z = pair.Copy(zeros), q = pair.Copy(dense), sq = pair.Copy(Sparse24Layout.TryPack(codes, zeros, rows, cols, group)!);
            var s = (Half*)pair.Copy(MemoryMarshal.AsBytes(scales.AsSpan()).ToArray());
            pair.Dense = new GroupQuantizedMatrix(q, s, z, rows, cols, bits, group);
            pair.Sparse = GroupQuantizedMatrix.Sparse24(sq, s, z, rows, cols, bits, group);
            return pair;
        }

        private byte* Copy(byte[] data)
        {
            var p = (byte*)NativeMemory.AlignedAlloc((nuint)data.Length, 64);
            _blocks.Add((nint)p);
            data.CopyTo(new Span<byte>(p, data.Length));
            return p;
        }

        public void Dispose()
        {
            foreach (var p in _blocks) NativeMemory.AlignedFree((void*)p);
        }
    }
}
