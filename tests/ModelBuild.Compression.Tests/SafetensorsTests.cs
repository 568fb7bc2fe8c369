using System.Buffers.Binary;
using System.Text;
using ModelBuild.Compression.Ingestion;
using ModelBuild.Tests;

namespace ModelBuild.Compression.Tests;

public class SafetensorsTests
{
    private static readonly float[] A = { 1.5f, -2.25f, 3f, 0.125f, -0f, 1024f };

    [Theory]
    [InlineData(TensorDType.F32)]
    [InlineData(TensorDType.F16)]
    [InlineData(TensorDType.BF16)]
    public void Writer_and_reader_round_trip_each_dtype(TensorDType dtype)
    {
        using var dir = new RepoPaths.TempDir();
        SafetensorsWriter.Write(dir.File("m.safetensors"), new[] { ("a", new long[] { 2, 3 }, A), ("b", new long[] { 1 }, new[] { 7f }) }, dtype);
        var f = SafetensorsFile.Open(dir.File("m.safetensors"));
        Assert.Equal(new long[] { 2, 3 }, f.Entries["a"].Shape);
        Assert.Equal(dtype, f.Entries["a"].DType);
        Assert.Equal(A, f.ReadFloat("a")); // all values are exact in every dtype
        Assert.Equal(new[] { 7f }, f.ReadFloat("b"));
    }

    private static string WriteRaw(RepoPaths.TempDir dir, string header, int dataBytes, int declaredHeaderLength = -1)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)(declaredHeaderLength >= 0 ? declaredHeaderLength : h.Length));
        h.CopyTo(bytes, 8);
        File.WriteAllBytes(dir.File("bad.safetensors"), bytes);
        return dir.File("bad.safetensors");
    }

    [Theory]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, -1, "outside the data section")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}", 16, -1, "needs 12 bytes")]
    [InlineData("{\"a\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}}", 16, -1, "not supported")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 16, -1, "overlap")]
    [InlineData("{\"a\":", 16, -1, "not valid JSON")]
    [InlineData("{}", 0, 1 << 30, "exceeds the file")]
    public void Corrupt_headers_are_rejected_before_reading_data(string header, int dataBytes, int declared, string expected)
    {
        using var dir = new RepoPaths.TempDir();
        var e = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Open(WriteRaw(dir, header, dataBytes, declared)));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void A_file_shorter_than_its_length_prefix_is_truncated()
    {
        using var dir = new RepoPaths.TempDir();
        File.WriteAllBytes(dir.File("t.safetensors"), new byte[5]);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => SafetensorsFile.Open(dir.File("t.safetensors"))).Message);
    }

    [Fact]
    public void NaN_weights_are_an_error_naming_the_tensor()
    {
        using var dir = new RepoPaths.TempDir();
        SafetensorsWriter.Write(dir.File("m.safetensors"), new[] { ("w", new long[] { 2 }, new[] { 1f, float.NaN }) }, TensorDType.F32);
        var f = SafetensorsFile.Open(dir.File("m.safetensors"));
        Assert.Contains("'w'", Assert.Throws<InvalidDataException>(() => f.ReadFloat("w")).Message);
        Assert.True(float.IsNaN(f.ReadFloat("w", allowNonFinite: true)[1]));
    }

    [Fact]
    public void The_fixture_checkpoint_opens_with_every_weight_its_config_implies()
    {
        var cp = Checkpoint.Open(RepoPaths.FixtureModel);
        foreach (var (name, shape) in Torch.TorchLlama.WeightShapes(cp.Config))
            Assert.Equal(shape, cp.Entry(name).Shape);
    }
}

public class ShardedCheckpointTests
{
    [Fact]
    public void A_sharded_checkpoint_reads_each_tensor_from_its_shard()
    {
        using var dir = new RepoPaths.TempDir();
        foreach (var f in new[] { "config.json", "tokenizer.json" })
            File.Copy(Path.Combine(RepoPaths.FixtureModel, f), dir.File(f));
        var whole = Checkpoint.Open(RepoPaths.FixtureModel);
        var names = Torch.TorchLlama.WeightShapes(whole.Config).ToList();
        var half = names.Count / 2;
        SafetensorsWriter.Write(dir.File("model-00001-of-00002.safetensors"), names.Take(half).Select(n => (n.Name, n.Shape, whole.ReadTensor(n.Name, n.Shape))), TensorDType.BF16);
        SafetensorsWriter.Write(dir.File("model-00002-of-00002.safetensors"), names.Skip(half).Select(n => (n.Name, n.Shape, whole.ReadTensor(n.Name, n.Shape))), TensorDType.F32);
        var map = string.Join(",", names.Select((n, i) => $"\"{n.Name}\": \"model-0000{(i < half ? 1 : 2)}-of-00002.safetensors\""));
        File.WriteAllText(dir.File("model.safetensors.index.json"), $"{{\"metadata\": {{}}, \"weight_map\": {{{map}}}}}");

        var sharded = Checkpoint.Open(dir.Path);
        var last = names[^1];
        Assert.Equal(whole.ReadTensor(last.Name, last.Shape), sharded.ReadTensor(last.Name, last.Shape)); // F32 shard: exact
        Assert.Equal(TensorDType.BF16, sharded.Entry(names[0].Name).DType);
        Assert.Equal(2, sharded.InputFiles.Count(f => f.EndsWith(".safetensors")));
        Assert.Contains(sharded.InputFiles, f => f.EndsWith("model.safetensors.index.json"));
    }

    [Fact]
    public void A_shard_name_that_escapes_the_directory_is_rejected()
    {
        using var dir = new RepoPaths.TempDir();
        foreach (var f in new[] { "config.json", "tokenizer.json" })
            File.Copy(Path.Combine(RepoPaths.FixtureModel, f), dir.File(f));
        File.WriteAllText(dir.File("model.safetensors.index.json"), "{\"weight_map\": {\"a\": \"../../etc/passwd\"}}");
        Assert.Contains("plain file name", Assert.Throws<InvalidDataException>(() => Checkpoint.Open(dir.Path)).Message);
    }
}
