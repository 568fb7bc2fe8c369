using ModelBuild.Compression.Synthesis;
using ModelBuild.Format.Config;
using ModelBuild.Tests;

namespace ModelBuild.Compression.Tests;

public class SynthPresetTests
{
    [Fact]
    public void Every_preset_writes_a_config_that_parses_back_to_itself()
    {
        foreach (var preset in SynthPreset.All)
            Assert.Equal(preset.Config, LlamaConfig.Parse(preset.Config.ToJson(), preset.Name));
    }

    [Fact]
    public void The_same_seed_writes_the_same_weights_in_another_process_run()
    {
        // Seeds must not depend on per-process hashing: the expected bytes are fixed here, not computed twice in one process.
        using var dir = new RepoPaths.TempDir();
        SyntheticCheckpoint.Write(SynthPreset.Find("tiny"), dir.File("a"), seed: 7);
        var bytes = File.ReadAllBytes(Path.Combine(dir.File("a"), "model-00001-of-00003.safetensors"));
        Assert.Equal(Expected, Convert.ToHexString(System.IO.Hashing.XxHash3.Hash(bytes)));
    }

    private const string Expected = "362F6BCA50842C22";
}
