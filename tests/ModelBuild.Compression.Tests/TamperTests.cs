using ModelBuild.Compression.Ingestion;
using ModelBuild.Compression.Pipeline;
using ModelBuild.Compression.Spec;
using ModelBuild.Format.Pack;
using ModelBuild.Runtime;
using ModelBuild.Tests;

namespace ModelBuild.Compression.Tests;

/// <summary>Packs whose bytes were changed anywhere fail to load with a pack error; changed tensor data names the tensor.</summary>
public class TamperTests
{
    [Fact]
    public void A_byte_flipped_anywhere_in_a_pack_is_caught_on_load()
    {
        using var dir = new RepoPaths.TempDir();
        var spec = SpecParser.Parse("stages:\n  - quantize: { method: rtn, bits: 4, group_size: 128 }\n", dir.File("q4.yaml"));
        new Compressor().Compress(Checkpoint.Open(RepoPaths.FixtureModel), spec, dir.File("q4.mbpack"));
        var original = File.ReadAllBytes(dir.File("q4.mbpack"));
        long dataEnd;
        using (var pack = PackReader.Open(dir.File("q4.mbpack"))) dataEnd = pack.Header.DataOffset + pack.Header.DataLength;

        var rng = new Random(2026);
        // Every header byte, then random offsets over data and manifest.
        var offsets = Enumerable.Range(0, PackHeader.Size).Concat(Enumerable.Range(0, 40).Select(_ => rng.Next(PackHeader.Size, original.Length)));
        foreach (int offset in offsets)
        {
            var bytes = (byte[])original.Clone();
            bytes[offset] ^= (byte)(1 << rng.Next(8));
            string path = dir.File($"tampered-{offset}.mbpack");
            File.WriteAllBytes(path, bytes);
            var e = Assert.Throws<PackFormatException>(() => CausalLanguageModel.Load(path).Dispose());
            if (offset >= PackHeader.Size && offset < dataEnd && e.Message.Contains("checksum"))
                Assert.Contains("tensor '", e.Message);
            File.Delete(path);
        }
    }

    [Fact]
    public void Bytes_appended_to_a_pack_are_rejected()
    {
        using var dir = new RepoPaths.TempDir();
        new Compressor().Compress(Checkpoint.Open(RepoPaths.FixtureModel), null, dir.File("f16.mbpack"));
        File.AppendAllText(dir.File("f16.mbpack"), "extra");
        var e = Assert.Throws<PackFormatException>(() => CausalLanguageModel.Load(dir.File("f16.mbpack")).Dispose());
        Assert.Contains("do not fit the file", e.Message);
    }
}
