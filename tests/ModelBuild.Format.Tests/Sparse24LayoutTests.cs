using ModelBuild.Format.Pack;

namespace ModelBuild.Format.Tests;

public class Sparse24LayoutTests
{
    private static TensorEntry Entry(int bits, long rows, long cols, int group, long qweightBytes, int outliers = 0)
    {
        long groups = rows * (cols / group);
        var parts = new Dictionary<string, BlobRef>
        {
            ["qweight"] = new(0, qweightBytes, ""), ["scales"] = new(0, groups * 2, ""), ["zeros"] = new(0, groups, ""),
        };
        return new TensorEntry { Name = "w", Format = TensorLayout.GroupQuantizedSparse24, Shape = [rows, cols], Bits = bits, GroupSize = group, OutlierCount = outliers, Parts = parts };
    }

    [Fact]
    public void A_2_4_tensor_stores_three_eighths_of_a_byte_per_weight()
    {
        Assert.Equal(8 * 256 * 3 / 8, TensorLayout.ExpectedPartLengths(Entry(4, 8, 256, 128, 0))["qweight"]);
        Assert.Equal(3 * 384 * 3 / 8, TensorLayout.ExpectedPartLengths(Entry(2, 3, 384, 384, 0))["qweight"]);
    }

    [Theory]
    [InlineData(8, 256, 128, 0)]   // 8-bit codes have no 2:4 layout
    [InlineData(4, 96, 32, 0)]     // not whole 128-column chunks
    [InlineData(4, 256, 64, 0)]    // a group smaller than a chunk
    [InlineData(4, 256, 128, 3)]   // outliers
    public void Shapes_the_layout_cannot_hold_are_rejected(int bits, long cols, int group, int outliers) =>
        Assert.Throws<InvalidDataException>(() => TensorLayout.ExpectedPartLengths(Entry(bits, 4, cols, group, 0, outliers)));

    [Fact]
    public void Every_stored_code_and_position_has_its_own_bits()
    {
        var used = new HashSet<(int, int)>();
        for (int k = 0; k < 64; k++)
        {
            var (cb, cs) = Sparse24Layout.CodeAt(k);
            var (pb, ps) = Sparse24Layout.PositionAt(k);
            Assert.InRange(cb, 0, Sparse24Layout.CodeBytes - 1);
            Assert.InRange(pb, Sparse24Layout.CodeBytes, Sparse24Layout.ChunkBytes - 1);
            for (int b = 0; b < 4; b++) Assert.True(used.Add((cb, cs + b)), $"code {k} overlaps");
            for (int b = 0; b < 2; b++) Assert.True(used.Add((pb, ps + b)), $"position {k} overlaps");
        }
        Assert.Equal(Sparse24Layout.ChunkBytes * 8, used.Count);
    }

    [Fact]
    public void Packed_codes_decode_back_to_the_matrix()
    {
        var rng = new Random(4);
        int rows = 3, cols = 256, group = 128;
        var zeros = new byte[] { 7, 8, 3, 1, 15, 0 };
        var codes = new byte[rows * cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c += 4)
            {
                byte zero = zeros[r * 2 + c / group];
                for (int i = 0; i < 4; i++) codes[r * cols + c + i] = zero;
                foreach (int i in Enumerable.Range(0, 4).OrderBy(_ => rng.Next()).Take(rng.Next(3))) codes[r * cols + c + i] = (byte)rng.Next(16);
            }
        var packed = Sparse24Layout.TryPack(codes, zeros, rows, cols, group)!;
        var decoded = new byte[rows * cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) decoded[r * cols + c] = zeros[r * 2 + c / group];
        for (int r = 0; r < rows; r++)
            for (int chunk = 0; chunk < cols / 128; chunk++)
                for (int k = 0; k < 64; k++)
                {
                    int at = (int)(r * Sparse24Layout.RowBytes(cols)) + chunk * Sparse24Layout.ChunkBytes;
                    var (cb, cs) = Sparse24Layout.CodeAt(k);
                    var (pb, ps) = Sparse24Layout.PositionAt(k);
                    int column = chunk * 128 + 4 * (k / 2) + ((packed[at + pb] >> ps) & 3);
                    byte code = (byte)((packed[at + cb] >> cs) & 15);
                    if (code != zeros[r * 2 + column / group]) decoded[r * cols + column] = code;
                }
        Assert.Equal(codes, decoded);
    }
}
