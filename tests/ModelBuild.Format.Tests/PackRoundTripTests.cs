using System.Runtime.InteropServices;
using ModelBuild.Format.Pack;
using ModelBuild.Tests;

namespace ModelBuild.Format.Tests;

public class PackRoundTripTests
{
    internal static string WriteSamplePack(string path, float[]? weights = null)
    {
        weights ??= Enumerable.Range(0, 6 * 5).Select(i => i * 0.25f - 3).ToArray();
        using var w = new PackWriter(path);
        w.AddTensor(new TensorEntry { Name = "a", Format = TensorLayout.F32, Shape = new long[] { 6, 5 }, Parts = new() { ["data"] = w.AddBlob(MemoryMarshal.AsBytes(weights.AsSpan())) } });
        w.AddTensor(new TensorEntry { Name = "b", Format = TensorLayout.F32, Shape = new long[] { 3 }, Parts = new() { ["data"] = w.AddBlob(MemoryMarshal.AsBytes(new float[] { 1, 2, 3 }.AsSpan())) } });
        w.Commit(new PackManifest { ToolVersion = "test", ConfigJson = "{}", TokenizerJson = "{}", Tensors = new() });
        return path;
    }

    /// <summary>A pack mapped from its file (<see cref="PackReader.Open"/>) or read into process memory (<see cref="PackReader.Read"/>).</summary>
    private static PackReader Load(string path, bool read, bool verifyChecksums = true) =>
        read ? PackReader.Read(path, verifyChecksums) : PackReader.Open(path, verifyChecksums);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Tensors_round_trip_through_the_reader_with_64_byte_alignment(bool read)
    {
        using var dir = new RepoPaths.TempDir();
        var weights = Enumerable.Range(0, 30).Select(i => MathF.Sin(i)).ToArray();
        using var r = Load(WriteSamplePack(dir.File("x.mbpack"), weights), read);
        Assert.Equal(read, r.InProcessMemory);
        var a = r.Tensor("a");
        Assert.Equal(weights, MemoryMarshal.Cast<byte, float>(r.Part(a, "data")).ToArray());
        Assert.Equal(new float[] { 1, 2, 3 }, MemoryMarshal.Cast<byte, float>(r.Part(r.Tensor("b"), "data")).ToArray());
        Assert.All(r.Tensors.SelectMany(t => t.Parts.Values), p => Assert.Equal(0, p.Offset % PackHeader.Alignment));
        Assert.Empty(r.Verify());
    }

    [Fact]
    public void Same_inputs_give_identical_bytes()
    {
        using var dir = new RepoPaths.TempDir();
        var one = File.ReadAllBytes(WriteSamplePack(dir.File("1.mbpack")));
        var two = File.ReadAllBytes(WriteSamplePack(dir.File("2.mbpack")));
        Assert.Equal(one, two);
    }

    [Fact]
    public void A_writer_disposed_without_commit_leaves_no_file()
    {
        using var dir = new RepoPaths.TempDir();
        using (var w = new PackWriter(dir.File("x.mbpack"))) w.AddBlob(new byte[100]);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_flipped_byte_in_a_tensor_is_reported_with_the_tensor_name(bool read)
    {
        using var dir = new RepoPaths.TempDir();
        string path = WriteSamplePack(dir.File("x.mbpack"));
        var bytes = File.ReadAllBytes(path);
        bytes[PackHeader.Size + 4] ^= 0x40; // inside tensor "a"
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<PackFormatException>(() => Load(path, read));
        Assert.Contains("tensor 'a'", e.Message);
        Assert.Contains("checksum", e.Message);
    }

    [Theory]
    [InlineData(10, false)]
    [InlineData(63, false)]
    [InlineData(200, false)]
    [InlineData(10, true)]
    [InlineData(63, true)]
    [InlineData(200, true)]
    public void A_truncated_pack_fails_with_a_clear_error(int keep, bool read)
    {
        using var dir = new RepoPaths.TempDir();
        string path = WriteSamplePack(dir.File("x.mbpack"));
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..Math.Min(keep, bytes.Length - 1)]);
        var e = Assert.Throws<PackFormatException>(() => Load(path, read));
        Assert.Contains("truncated", e.Message);
        Assert.Contains("x.mbpack", e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_file_that_is_not_a_pack_is_rejected_by_its_magic(bool read)
    {
        using var dir = new RepoPaths.TempDir();
        File.WriteAllBytes(dir.File("x.mbpack"), new byte[1000]);
        var e = Assert.Throws<PackFormatException>(() => Load(dir.File("x.mbpack"), read));
        Assert.Contains("magic", e.Message);
    }

    [Fact]
    public void A_manifest_declaring_a_part_past_the_data_section_is_rejected_before_any_read()
    {
        using var dir = new RepoPaths.TempDir();
        string path = dir.File("x.mbpack");
        using (var w = new PackWriter(path))
        {
            var blob = w.AddBlob(new byte[16]);
            w.AddTensor(new TensorEntry { Name = "big", Format = TensorLayout.F32, Shape = new long[] { 1000 }, Parts = new() { ["data"] = blob with { Length = 4000 } } });
            w.Commit(new PackManifest { ToolVersion = "t", ConfigJson = "{}", TokenizerJson = "{}", Tensors = new() });
        }
        var e = Assert.Throws<PackFormatException>(() => PackReader.Open(path, verifyChecksums: false));
        Assert.Contains("'big'", e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_missing_pack_is_named_in_the_error(bool read)
    {
        using var dir = new RepoPaths.TempDir();
        var e = Assert.Throws<FileNotFoundException>(() => Load(dir.File("missing.mbpack"), read));
        Assert.Contains("missing.mbpack", e.Message);
    }

    /// <summary>A stream that ends before the length it was said to have (a file cut short while being read).</summary>
    [Fact]
    public void A_stream_shorter_than_its_stated_length_fails_and_names_how_much_arrived()
    {
        using var dir = new RepoPaths.TempDir();
        var bytes = File.ReadAllBytes(WriteSamplePack(dir.File("x.mbpack")));
        using var stream = new MemoryStream(bytes[..100]);
        var e = Assert.Throws<PackFormatException>(() => PackReader.ReadStream("x.mbpack", stream, bytes.Length, verifyChecksums: true));
        Assert.Contains($"after 100 of {bytes.Length} bytes", e.Message);
    }
}
