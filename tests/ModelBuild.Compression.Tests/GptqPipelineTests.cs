using ModelBuild.Compression.Ingestion;
using ModelBuild.Compression.Pipeline;
using ModelBuild.Compression.Spec;
using ModelBuild.Tests;

namespace ModelBuild.Compression.Tests;

/// <summary>GPTQ through the whole pipeline on the fixture (small calibration, to stay fast).</summary>
public class GptqPipelineTests
{
    private static string WriteSpec(RepoPaths.TempDir dir, string quantize) =>
        WriteFile(dir, "g.yaml", $"calibration: {{ text: {Path.Combine(RepoPaths.FixtureModel, "calib.txt")}, samples: 8, sequence_length: 64, seed: 3 }}\nstages:\n  - quantize: {quantize}\n");

    private static string WriteFile(RepoPaths.TempDir dir, string name, string text)
    {
        File.WriteAllText(dir.File(name), text);
        return dir.File(name);
    }

    [Fact]
    public void Same_inputs_give_a_bit_identical_GPTQ_pack()
    {
        using var dir = new RepoPaths.TempDir();
        var spec = SpecParser.ParseFile(WriteSpec(dir, "{ method: gptq, bits: 4, group_size: 64, act_order: true }"));
        var cp = Checkpoint.Open(RepoPaths.FixtureModel);
        new Compressor().Compress(cp, spec, dir.File("a.mbpack"));
        new Compressor().Compress(cp, spec, dir.File("b.mbpack"));
        Assert.Equal(File.ReadAllBytes(dir.File("a.mbpack")), File.ReadAllBytes(dir.File("b.mbpack")));
    }

    [Fact]
    public void The_report_has_an_output_error_for_every_quantized_layer_and_lm_head_is_left_alone_unless_targeted()
    {
        using var dir = new RepoPaths.TempDir();
        var spec = SpecParser.ParseFile(WriteSpec(dir, "{ method: gptq, bits: 3, group_size: 128 }"));
        var result = new Compressor().Compress(Checkpoint.Open(RepoPaths.FixtureModel), spec, dir.File("g.mbpack"));
        var layers = result.Report["layers"]!.AsArray();
        Assert.Equal(42, layers.Count);
        Assert.All(layers, l => Assert.InRange(l!["relative_output_error"]!.GetValue<double>(), 1e-4, 0.5));
        using var pack = Format.Pack.PackReader.Open(dir.File("g.mbpack"));
        Assert.Equal("f16", pack.Tensor("lm_head.weight").Format);
        Assert.Equal(3, pack.Tensor("model.layers.0.mlp.down_proj.weight").Bits);
    }

    [Fact]
    public void GPTQ_without_calibration_is_an_error_at_the_stage()
    {
        using var dir = new RepoPaths.TempDir();
        var spec = SpecParser.ParseFile(WriteFile(dir, "g.yaml", "stages:\n  - quantize: { method: gptq, bits: 4 }\n"));
        var e = Assert.Throws<Diagnostics.ModelBuildException>(() => new Compressor().Compress(Checkpoint.Open(RepoPaths.FixtureModel), spec, dir.File("g.mbpack")));
        Assert.Equal(2, e.Line);
        Assert.Contains("calibration", e.Hint);
        Assert.False(File.Exists(dir.File("g.mbpack")));
    }

    [Fact]
    public void A_group_size_that_does_not_divide_a_layer_names_the_layer()
    {
        using var dir = new RepoPaths.TempDir();
        var spec = SpecParser.ParseFile(WriteSpec(dir, "{ method: gptq, bits: 4, group_size: 96 }"));
        var e = Assert.Throws<Diagnostics.ModelBuildException>(() => new Compressor().Compress(Checkpoint.Open(RepoPaths.FixtureModel), spec, dir.File("g.mbpack")));
        Assert.Contains("multiples of 96, but 'model.layers.0.self_attn.q_proj.weight' has 256", e.Message);
    }

    [Fact]
    public void Targets_that_match_no_layer_are_an_error_at_the_stage()
    {
        using var dir = new RepoPaths.TempDir();
        var spec = SpecParser.ParseFile(WriteFile(dir, "g.yaml", "stages:\n  - quantize: { method: rtn, targets: [lm_head], ignore: [lm_head] }\n"));
        var e = Assert.Throws<Diagnostics.ModelBuildException>(() => new Compressor().Compress(Checkpoint.Open(RepoPaths.FixtureModel), spec, dir.File("g.mbpack")));
        Assert.Contains("match no layer", e.Message);
        Assert.Equal(2, e.Line);
    }
}
