using ModelBuild.Compression.Ingestion;
using ModelBuild.Compression.Pipeline;
using ModelBuild.Compression.Spec;
using ModelBuild.Runtime;
using ModelBuild.Runtime.Kernels;
using ModelBuild.Tests;

namespace ModelBuild.Compression.Tests;

/// <summary>A session's KV cache starts at one chunk of positions and grows with the context.</summary>
public class GrowingCacheTests
{
    [Theory]
    [InlineData(KernelPath.Scalar, 150, 300)]
    [InlineData(KernelPath.Auto, 150, 300)]
    [InlineData(KernelPath.Ilgpu, 40, 90)] // the device's cache grows the same way (fewer tokens: ILGPU's CPU accelerator is slow)
    public void A_cache_that_grows_gives_the_logits_of_one_made_whole_up_front(KernelPath path, int prompt, int total)
    {
        var cp = Checkpoint.Open(RepoPaths.FixtureModel);
        using var dir = new RepoPaths.TempDir();
        var spec = SpecParser.Parse("stages:\n  - quantize: { method: rtn, bits: 4, group_size: 128 }\n", dir.File("q4.yaml"));
        new Compressor().Compress(cp, spec, dir.File("q4.mbpack"));
        using var model = CausalLanguageModel.Load(dir.File("q4.mbpack"), kernelPath: path);
        int vocab = model.Config.VocabSize, max = model.Config.MaxPositionEmbeddings;
        Assert.True(max >= total, "the fixture's context is too short for this test");
        var rng = new Random(3);
        var ids = Enumerable.Range(0, total).Select(_ => rng.Next(vocab)).ToArray();

        using var whole = model.CreateSession(null, null, initialCapacity: max);
        using var growing = model.CreateSession(null, null, initialCapacity: 16);
        Assert.True(whole.CacheCapacity >= max);
        Assert.Equal(16, growing.CacheCapacity);
        // A prompt (in chunks when over 128 tokens: the cache grows between them), then one token at a time past the next doublings.
        var expected = new float[prompt * vocab];
        var actual = new float[prompt * vocab];
        whole.Forward(ids.AsSpan(0, prompt), expected, allLogits: true);
        growing.Forward(ids.AsSpan(0, prompt), actual, allLogits: true);
        Assert.Equal(expected, actual);
        Assert.InRange(growing.CacheCapacity, prompt, total);
        for (int i = prompt; i < ids.Length; i++)
        {
            whole.Forward(ids.AsSpan(i, 1), expected.AsSpan(0, vocab));
            growing.Forward(ids.AsSpan(i, 1), actual.AsSpan(0, vocab));
            Assert.True(expected.AsSpan(0, vocab).SequenceEqual(actual.AsSpan(0, vocab)), $"logits differ at position {i}");
        }
        Assert.InRange(growing.CacheCapacity, total, max + 15);
        // Reset keeps what the cache grew to: a second conversation does not grow it again.
        int grown = growing.CacheCapacity;
        growing.Reset();
        growing.Forward(ids.AsSpan(0, total * 2 / 3), actual.AsSpan(0, vocab));
        Assert.Equal(grown, growing.CacheCapacity);
    }

    [Fact]
    public void A_new_session_holds_one_chunk_of_positions_not_the_whole_context()
    {
        var cp = Checkpoint.Open(RepoPaths.FixtureModel);
        using var dir = new RepoPaths.TempDir();
        new Compressor().Compress(cp, null, dir.File("f16.mbpack"));
        using var model = CausalLanguageModel.Load(dir.File("f16.mbpack"));
        using var session = model.CreateSession();
        Assert.Equal(Runtime.Llama.LlamaForward.ChunkTokens, session.CacheCapacity);
        Assert.True(session.MaxPositions > session.CacheCapacity);
    }

    [Fact]
    public void Keys_and_values_are_kept_in_bf16_only_where_their_projections_round_inputs_to_int8()
    {
        var cp = Checkpoint.Open(RepoPaths.FixtureModel);
        using var dir = new RepoPaths.TempDir();
        var spec = SpecParser.Parse("stages:\n  - quantize: { method: rtn, bits: 4, group_size: 128 }\n", dir.File("q4.yaml"));
        new Compressor().Compress(cp, spec, dir.File("q4.mbpack"));
        new Compressor().Compress(cp, null, dir.File("f16.mbpack"));
        bool Bf16(string pack, KernelPath path)
        {
            using var model = CausalLanguageModel.Load(dir.File(pack), kernelPath: path);
            using var session = model.CreateSession();
            return session.CachesBFloat16;
        }
        Assert.False(Bf16("q4.mbpack", KernelPath.Scalar));
        Assert.False(Bf16("f16.mbpack", KernelPath.Auto));
        foreach (var path in new[] { KernelPath.Avx2, KernelPath.Avx512 }.Where(KernelPaths.IsSupported))
        {
            Assert.True(Bf16("q4.mbpack", path), path.ToString());
            Assert.False(Bf16("f16.mbpack", path), path.ToString());
        }
    }
}
