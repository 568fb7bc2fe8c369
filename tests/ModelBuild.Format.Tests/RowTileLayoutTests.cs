using System.Buffers.Binary;
using ModelBuild.Format.Pack;
using ModelBuild.Tests;

namespace ModelBuild.Format.Tests;

public class RowTileLayoutTests
{
    [Theory]
    [InlineData(37, 128, 1)]   // two whole tiles and a partial one; one group per row (header 48 bytes -> 64)
    [InlineData(16, 1024, 16)] // one whole tile, 16 groups per row (header exactly 768 bytes)
    [InlineData(5, 2816, 44)]  // down's rows: 44 groups (header 2112 bytes)
    public void Every_row_keeps_its_codes_scales_and_zero_points_at_its_offsets(int rows, int rowBytes, int groups)
    {
        var rng = new Random(rows);
        byte[] Random(int n)
        {
            var b = new byte[n];
            rng.NextBytes(b);
            return b;
        }
        byte[] codes = Random(rows * rowBytes), scales = Random(rows * groups * 2), zeros = Random(rows * groups);
        var layout = new RowTileLayout(rowBytes, groups);
        var tiles = layout.Interleave(codes, scales, zeros, rows);

        Assert.Equal(RowTileLayout.TileCount(rows) * layout.TileBytes, tiles.Length);
        Assert.Equal(0, layout.HeaderBytes % 64);
        Assert.Equal(0, layout.TileBytes % 64);
        var owner = new int[tiles.Length];
        Array.Fill(owner, -1);
        for (int r = 0; r < rows; r++)
        {
            Assert.Equal(codes.AsSpan(r * rowBytes, rowBytes).ToArray(), tiles.AsSpan((int)layout.CodesOffset(r), rowBytes).ToArray());
            Assert.Equal(scales.AsSpan(r * groups * 2, groups * 2).ToArray(), tiles.AsSpan((int)layout.ScalesOffset(r), groups * 2).ToArray());
            Assert.Equal(zeros.AsSpan(r * groups, groups).ToArray(), tiles.AsSpan((int)layout.ZerosOffset(r), groups).ToArray());
            Claim(owner, layout.CodesOffset(r), rowBytes, r);
            Claim(owner, layout.ScalesOffset(r), groups * 2, r);
            Claim(owner, layout.ZerosOffset(r), groups, r);
            // A tile's scales come before its codes, so a stream over the codes has already passed them.
            Assert.True(layout.ZerosOffset(r) < layout.CodesOffset(r - r % RowTileLayout.Rows));
        }
        // Whatever no row owns (header padding, the last tile's missing rows) is zero.
        for (int i = 0; i < tiles.Length; i++)
            if (owner[i] < 0) Assert.Equal(0, tiles[i]);
    }

    private static void Claim(int[] owner, long offset, int length, int row)
    {
        for (long i = offset; i < offset + length; i++)
        {
            Assert.True(owner[i] < 0, $"byte {i} belongs to row {owner[i]} and row {row}");
            owner[i] = row;
        }
    }

    [Fact]
    public void Parts_of_the_wrong_size_are_refused()
    {
        var layout = new RowTileLayout(64, 1);
        Assert.Throws<ArgumentException>(() => layout.Interleave(new byte[64 * 3], new byte[6], new byte[2], 3));
    }

    private static TensorEntry Entry(string format, int? rowTile) => new()
    {
        Name = "w", Format = format, Shape = [37, 256], Bits = 4, GroupSize = 128, RowTile = rowTile, Parts = new(),
    };

    [Fact]
    public void A_tiled_tensor_has_one_part_of_whole_tiles()
    {
        var parts = TensorLayout.ExpectedPartLengths(Entry(TensorLayout.GroupQuantized, RowTileLayout.Rows));
        Assert.Equal(["tiles"], parts.Keys);
        // 3 tiles of (16 rows x 2 groups x 3 bytes = 96 -> 128) + 16 x 128 code bytes.
        Assert.Equal(3 * (128 + 16 * 128), parts["tiles"]);
        Assert.Equal(3 * (128 + 16 * 96), TensorLayout.ExpectedPartLengths(Entry(TensorLayout.GroupQuantizedSparse24, RowTileLayout.Rows))["tiles"]);
        Assert.Equal(["qweight", "scales", "zeros"], TensorLayout.ExpectedPartLengths(Entry(TensorLayout.GroupQuantized, null)).Keys.Order());
    }

    [Theory]
    [InlineData(TensorLayout.GroupQuantized, 8, "row tiles of 8 rows")]
    [InlineData(TensorLayout.F16, 16, "only group-quantized tensors")]
    public void Tiles_this_version_cannot_read_are_refused(string format, int rowTile, string message)
    {
        var e = Assert.Throws<InvalidDataException>(() => TensorLayout.ExpectedPartLengths(Entry(format, rowTile)));
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData(1, true)]   // packs written before row tiles still read
    [InlineData(2, true)]
    [InlineData(3, false)]
    [InlineData(0, false)]
    public void Readable_format_versions(int version, bool readable)
    {
        using var dir = new RepoPaths.TempDir();
        string path = PackRoundTripTests.WriteSamplePack(dir.File("x.mbpack"));
        var bytes = File.ReadAllBytes(path);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), version);
        File.WriteAllBytes(path, bytes);
        if (readable)
        {
            using var r = PackReader.Open(path);
            Assert.Empty(r.Verify());
        }
        else Assert.Contains($"version {version} is not supported", Assert.Throws<PackFormatException>(() => PackReader.Open(path)).Message);
    }
}
