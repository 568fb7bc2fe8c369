using ModelBuild.Runtime.Kernels;
using ModelBuild.Runtime.Weights;

namespace ModelBuild.Runtime.Tests;

/// <summary>
/// A matrix stored a tile of rows at a time (format version 2) against the same values in the row layout: every path
/// must give the same bits, whatever the range of rows it is asked for.
/// </summary>
public unsafe class RowTiledMatrixTests
{
    private static readonly KernelPath[] Paths = new[] { KernelPath.Scalar, KernelPath.Avx2, KernelPath.Avx512 }.Where(KernelPaths.IsSupported).ToArray();

    [Theory]
    [InlineData(4, 141, 256, 128, true)]   // two streams, the second ending in a partial tile; outliers
    [InlineData(4, 37, 384, 128, false)]   // whole tiles of row pairs per call; a chunk pair and a single chunk
    [InlineData(3, 90, 384, 128, false)]
    [InlineData(2, 70, 384, 128, true)]
    [InlineData(8, 99, 96, 32, false)]
    [InlineData(8, 40, 96, 32, true)]
    public void Every_path_gives_the_row_layouts_results(int bits, int rows, int cols, int group, bool outliers)
    {
        using var rowMajor = RandomQuantized.Create(bits, rows, cols, group, outliers, seed: rows + bits);
        using var tiled = RandomQuantized.Create(bits, rows, cols, group, outliers, seed: rows + bits, tiled: true);
        Assert.Equal(rowMajor.Dequantized(), tiled.Dequantized());
        var (a, b) = (rowMajor.Matrix.HostCopies(), tiled.Matrix.HostCopies());
        Assert.Equal(a.Codes, b.Codes);
        Assert.Equal(a.Scales, b.Scales);
        Assert.Equal(a.Zeros, b.Zeros);

        foreach (var path in Paths)
            foreach (int tokens in new[] { 1, 9 })
            {
                var x = KernelAgreementTests.RandomValues(tokens * cols, seed: tokens);
                var batch = KernelAgreementTests.Batch(x, tokens, cols);
                Assert.Equal(KernelAgreementTests.Run(rowMajor.Matrix, batch, path), KernelAgreementTests.Run(tiled.Matrix, batch, path));
            }
        AssertSameRanges(rowMajor.Matrix, tiled.Matrix, rows, cols);
    }

    [Fact]
    public void Sparse24_tiles_give_the_row_layouts_results()
    {
        using var pair = Sparse24Tests.SparsePair.Create(4, 77, 384, 128, seed: 5);
        var (w, wt) = (new float[384], new float[384]);
        for (int r = 0; r < 77; r++)
        {
            pair.Sparse.DequantizeRow(r, w);
            pair.SparseTiled.DequantizeRow(r, wt);
            Assert.Equal(w, wt);
        }
        foreach (var path in Paths)
        {
            var batch = KernelAgreementTests.Batch(KernelAgreementTests.RandomValues(384, seed: 3), 1, 384);
            Assert.Equal(KernelAgreementTests.Run(pair.Sparse, batch, path), KernelAgreementTests.Run(pair.SparseTiled, batch, path));
            // The dense expansion (paths without a 2:4 kernel) keeps reading scales and zero points from the tiles.
            Assert.Equal(KernelAgreementTests.Run(pair.Sparse.ExpandToDense(), batch, path), KernelAgreementTests.Run(pair.SparseTiled.ExpandToDense(), batch, path));
        }
        AssertSameRanges(pair.Sparse, pair.SparseTiled, 77, 384);
    }

    /// <summary>
    /// A thread's range can start mid-tile (a product after one whose rows are not whole tiles): decode in two streams
    /// over [5, rows − 2) and [19, rows) must give each row exactly what the row layout gives it.
    /// </summary>
    private static void AssertSameRanges(GroupQuantizedMatrix rowMajor, GroupQuantizedMatrix tiled, int rows, int cols)
    {
        var batch = KernelAgreementTests.Batch(KernelAgreementTests.RandomValues(cols, seed: rows), 1, cols);
        foreach (var path in Paths)
            foreach (var (start, end) in new[] { (5, rows - 2), (19, rows) })
            {
                var (expected, actual) = (new float[rows], new float[rows]);
                Array.Fill(actual, float.NaN);
                fixed (float* e = expected, a = actual)
                {
                    rowMajor.MultiplyRows(batch, e, rows, start, end, path);
                    tiled.MultiplyRows(batch, a, rows, start, end, path);
                }
                for (int r = 0; r < rows; r++)
                    if (r >= start && r < end) Assert.Equal(expected[r], actual[r]);
                    else Assert.True(float.IsNaN(actual[r]), $"{path}: row {r} is outside [{start}, {end}) but was written");
            }
    }
}
