using ModelBuild.Format.Pack;

namespace ModelBuild.Format.Tests;

public class ThreeBitLayoutTests
{
    [Theory]
    [InlineData(128)]   // one unpaired chunk
    [InlineData(256)]   // one pair
    [InlineData(384)]   // a pair and an unpaired chunk
    public void Every_column_has_three_bits_of_its_own_and_the_row_has_no_others(int cols)
    {
        var used = new HashSet<(long, int)>();
        for (int c = 0; c < cols; c++)
        {
            var (low, lowShift, high, highShift) = TensorLayout.ThreeBitAt(c, cols);
            Assert.True(used.Add((low, lowShift)) && used.Add((low, lowShift + 1)) && used.Add((high, highShift)), $"column {c} overlaps");
        }
        Assert.Equal(TensorLayout.PackedRowBytes(cols, 3) * 8, used.Count);
        Assert.Equal(cols * 3 / 8, TensorLayout.PackedRowBytes(cols, 3));
    }

    [Theory]
    [InlineData(3, 384)]   // 3 bits per code
    [InlineData(3, 96)]    // not whole chunks: 4-bit slots
    [InlineData(2, 256)]
    [InlineData(4, 256)]
    public void Packed_codes_read_back_unchanged(int bits, int cols)
    {
        var rng = new Random(cols);
        int rows = 3;
        var codes = Enumerable.Range(0, rows * cols).Select(_ => (byte)rng.Next(1 << bits)).ToArray();
        var packed = TensorLayout.PackCodes(codes, rows, cols, bits);
        long rowBytes = TensorLayout.PackedRowBytes(cols, bits);
        Assert.Equal(rows * rowBytes, packed.Length);
        int container = TensorLayout.ContainerBits(bits, cols);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                Assert.Equal(codes[r * cols + c], TensorLayout.ReadCode(packed.AsSpan((int)(r * rowBytes), (int)rowBytes), c, container, cols));
    }
}
