using System.Runtime.InteropServices;
using ModelBuild.Compression.Ingestion;
using ModelBuild.Compression.Pipeline;
using ModelBuild.Format.Pack;
using ModelBuild.Runtime;
using ModelBuild.Tests;

namespace ModelBuild.Compression.Tests;

/// <summary>
/// Packs opened from streams (embedded resources): in place from unmanaged memory, else copied to native memory; and pack
/// files read into process memory instead of mapped (LoadOptions.ReadIntoMemory, --no-mmap).
/// </summary>
public unsafe class StreamLoadTests
{
    [Fact]
    public void A_pack_loads_from_unmanaged_memory_in_place_and_from_any_stream_with_the_same_results()
    {
        using var dir = new RepoPaths.TempDir();
        new Compressor().Compress(Checkpoint.Open(RepoPaths.FixtureModel), null, dir.File("f16.mbpack"));
        var bytes = File.ReadAllBytes(dir.File("f16.mbpack"));
        var greedy = new GenerationOptions { MaxTokens = 12, Temperature = 0 };
        string expected;
        using (var fromFile = CausalLanguageModel.Load(dir.File("f16.mbpack"))) expected = fromFile.Generate("Fortune favors", greedy);

        using (var fromMemoryStream = CausalLanguageModel.Load(new MemoryStream(bytes), "f16.mbpack"))
            Assert.Equal(expected, fromMemoryStream.Generate("Fortune favors", greedy));

        byte* native = (byte*)NativeMemory.Alloc((nuint)bytes.Length);
        try
        {
            bytes.CopyTo(new Span<byte>(native, bytes.Length));
            using var model = CausalLanguageModel.Load(new UnmanagedMemoryStream(native, bytes.Length), "f16.mbpack");
            Assert.False(model.Pack.InProcessMemory); // in place
            Assert.Equal(expected, model.Generate("Fortune favors", greedy));
            using var copied = CausalLanguageModel.Load(new UnmanagedMemoryStream(native, bytes.Length), "f16.mbpack", new LoadOptions { ReadIntoMemory = true });
            Assert.True(copied.Pack.InProcessMemory);
            Assert.Equal(expected, copied.Generate("Fortune favors", greedy));
            native[bytes.Length / 2] ^= 1; // damaged memory is caught like a damaged file
            Assert.Throws<PackFormatException>(() => CausalLanguageModel.Load(new UnmanagedMemoryStream(native, bytes.Length), "f16.mbpack").Dispose());
        }
        finally { NativeMemory.Free(native); }

        var truncated = bytes[..(bytes.Length / 2)];
        Assert.Throws<PackFormatException>(() => CausalLanguageModel.Load(new MemoryStream(truncated), "half.mbpack").Dispose());
    }

    [Fact]
    public void A_pack_read_into_memory_runs_as_the_mapped_one_and_a_damaged_one_is_still_caught()
    {
        using var dir = new RepoPaths.TempDir();
        new Compressor().Compress(Checkpoint.Open(RepoPaths.FixtureModel), null, dir.File("f16.mbpack"));
        var greedy = new GenerationOptions { MaxTokens = 12, Temperature = 0 };
        string expected;
        using (var mapped = CausalLanguageModel.Load(new LoadOptions { Path = dir.File("f16.mbpack") }))
        {
            Assert.False(mapped.Pack.InProcessMemory);
            expected = mapped.Generate("Fortune favors", greedy);
        }
        using (var read = CausalLanguageModel.Load(new LoadOptions { Path = dir.File("f16.mbpack"), ReadIntoMemory = true }))
        {
            Assert.True(read.Pack.InProcessMemory);
            Assert.Equal(expected, read.Generate("Fortune favors", greedy));
        }

        var bytes = File.ReadAllBytes(dir.File("f16.mbpack"));
        bytes[bytes.Length / 2] ^= 1;
        File.WriteAllBytes(dir.File("damaged.mbpack"), bytes);
        var e = Assert.Throws<PackFormatException>(() => CausalLanguageModel.Load(new LoadOptions { Path = dir.File("damaged.mbpack"), ReadIntoMemory = true }).Dispose());
        Assert.Contains("damaged.mbpack", e.Message);
    }
}
