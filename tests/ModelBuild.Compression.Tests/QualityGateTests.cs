using ModelBuild.Compression.Diagnostics;
using ModelBuild.Compression.Ingestion;
using ModelBuild.Compression.Pipeline;
using ModelBuild.Compression.Spec;
using ModelBuild.Tests;

namespace ModelBuild.Compression.Tests;

/// <summary>Gates on the real fixture with a short held-out text (the first fortunes of eval.txt).</summary>
public class QualityGateTests
{
    private static string Spec(RepoPaths.TempDir dir, string quantize, double maxIncrease)
    {
        File.WriteAllText(dir.File("eval.txt"), File.ReadAllText(RepoPaths.FixtureEvalText)[..6000]);
        File.WriteAllText(dir.File("g.yaml"), $"stages:\n  - quantize: {quantize}\ngates: {{ eval_text: eval.txt, max_perplexity_increase: {maxIncrease} }}\n");
        return dir.File("g.yaml");
    }

    [Fact]
    public void A_gate_that_fails_reports_the_numbers_and_worst_layers_and_leaves_no_pack()
    {
        using var dir = new RepoPaths.TempDir();
        var spec = SpecParser.ParseFile(Spec(dir, "{ method: rtn, bits: 2, group_size: 128 }", 0.01));
        var e = Assert.Throws<ModelBuildException>(() => new Compressor().Compress(Checkpoint.Open(RepoPaths.FixtureModel), spec, dir.File("p.mbpack")));
        Assert.Equal(ErrorCodes.QualityGateFailed, e.Code);
        Assert.Matches(@"rose from \d+\.\d+ to \d+\.\d+ \(\+\d+\.\d+%\)", e.Message);
        Assert.Contains("Worst layers: model.layers.", e.Message);
        Assert.Equal(3, e.Line);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.mbpack*"));
    }

    [Fact]
    public void A_gate_that_passes_records_both_perplexities()
    {
        using var dir = new RepoPaths.TempDir();
        var spec = SpecParser.ParseFile(Spec(dir, "{ method: rtn, bits: 8, group_size: 128 }", 0.05));
        var result = new Compressor().Compress(Checkpoint.Open(RepoPaths.FixtureModel), spec, dir.File("p.mbpack"));
        var gate = result.Report["gate"]!;
        Assert.True(gate["passed"]!.GetValue<bool>());
        double original = gate["original_perplexity"]!.GetValue<double>(), compressed = gate["compressed_perplexity"]!.GetValue<double>();
        Assert.InRange(compressed / original, 0.99, 1.05);
        Assert.True(File.Exists(dir.File("p.mbpack")));
        Assert.False(File.Exists(dir.File("p.mbpack.ungated")));
    }
}

public class UnsupportedCombinationTests
{
    [Theory]
    [InlineData("stages:\n  - quantize: { method: rtn, bits: 4 }\n  - quantize: { method: rtn, bits: 8 }\n")]
    [InlineData("stages:\n  - quantize: { method: rtn, bits: 4, group_size: 128, outliers: 0.01 }\n")]
    public void Combinations_this_version_cannot_run_are_MB1104_and_write_nothing(string yaml)
    {
        using var dir = new RepoPaths.TempDir();
        File.WriteAllText(dir.File("s.yaml"), yaml);
        var e = Assert.ThrowsAny<ModelBuildException>(() =>
            new Compressor().Compress(Checkpoint.Open(RepoPaths.FixtureModel), SpecParser.ParseFile(dir.File("s.yaml")), dir.File("p.mbpack")));
        Assert.Equal(ErrorCodes.SpecNotSupported, e.Code);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.mbpack*"));
    }
}
