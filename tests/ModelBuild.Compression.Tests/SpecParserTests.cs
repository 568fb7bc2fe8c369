using ModelBuild.Compression.Diagnostics;
using ModelBuild.Compression.Spec;

namespace ModelBuild.Compression.Tests;

public class SpecParserTests
{
    private static ModelBuildException Fail(string yaml) => Assert.Throws<ModelBuildException>(() => SpecParser.Parse(yaml, "m.yaml"));

    [Fact]
    public void Parses_the_design_example()
    {
        var spec = SpecParser.Parse("""
            calibration: { text: data/calib.txt, samples: 128, sequence_length: 256, seed: 0 }
            stages:
              - sparsify: { method: sparsegpt, pattern: "2:4", targets: [mlp, attention] }
              - quantize: { method: gptq, bits: 4, group_size: 128, symmetric: false,
                            act_order: true, damp: 0.01, ignore: [lm_head] }
            gates: { eval_text: data/eval.txt, max_perplexity_increase: 0.10 }
            """, "m.yaml");
        Assert.Equal(128, spec.Calibration!.Samples);
        var q = Assert.IsType<QuantizeSpec>(spec.Stages[1]);
        Assert.Equal(("gptq", 4, 128, true, 0.01), (q.Method, q.Bits, q.GroupSize, q.ActOrder, q.Damp));
        Assert.Equal(new[] { "lm_head" }, q.Ignore);
        Assert.Equal(new[] { "attention", "mlp" }, q.Targets);
        Assert.Equal("2:4", Assert.IsType<SparsifySpec>(spec.Stages[0]).Pattern);
        Assert.Equal(0.10, spec.Gates!.MaxPerplexityIncrease);
        Assert.Equal(4, q.Location.Line);
    }

    [Fact]
    public void An_unknown_key_names_its_line_column_and_the_closest_key()
    {
        var e = Fail("stages:\n  - quantize: { method: rtn, bitz: 4 }\n");
        Assert.Equal(ErrorCodes.SpecUnknownKey, e.Code);
        Assert.Equal((2, 30), (e.Line, e.Column));
        Assert.Contains("did you mean 'bits'", e.Hint);
        Assert.StartsWith("m.yaml(2,30): error MB1102: unknown key 'bitz'", e.ToCanonical());
    }

    [Theory]
    [InlineData("stages:\n  - quantize: { method: rtn, bits: 5 }\n", 2, "bits must be 2, 3, 4 or 8")]
    [InlineData("stages:\n  - quantize: { method: awq }\n", 2, "'awq' is not one of")]
    [InlineData("stages:\n  - quantize: { method: rtn, group_size: 0 }\n", 2, "group_size must be positive")]
    [InlineData("stages:\n  - quantize: { method: rtn, targets: [mlpp] }\n", 2, "'mlpp' is not one of")]
    [InlineData("stages:\n  - compress: { method: rtn }\n", 2, "unknown stage 'compress'")]
    [InlineData("calibration: { samples: -3 }\nstages: []\n", 1, "calibration.samples must be an integer")]
    [InlineData("stages: { quantize: 1 }\n", 1, "'stages' must be a list")]
    [InlineData("stages:\n  - sparsify: { method: wanda, pattern: \"3:2\" }\n", 2, "is not a sparsity pattern")]
    public void Bad_values_fail_at_their_line(string yaml, int line, string message)
    {
        var e = Fail(yaml);
        Assert.Equal(line, e.Line);
        Assert.Contains(message, e.Message);
        Assert.Equal("m.yaml", e.File);
    }

    [Fact]
    public void Malformed_yaml_is_a_syntax_error_with_position()
    {
        var e = Fail("stages:\n  - quantize: { method: rtn\n");
        Assert.Equal(ErrorCodes.SpecSyntax, e.Code);
        Assert.True(e.Line >= 2);
    }

    [Fact]
    public void Quantize_before_sparsify_is_rejected_unless_allowed()
    {
        const string yaml = "stages:\n  - quantize: { method: rtn }\n  - sparsify: { method: wanda, pattern: \"2:4\" }\n";
        var e = Fail(yaml);
        Assert.Equal(3, e.Line);
        Assert.Contains("allow_quantize_before_sparsify", e.Hint);
        var spec = SpecParser.Parse("allow_quantize_before_sparsify: true\n" + yaml, "m.yaml");
        Assert.Equal(2, spec.Stages.Count);
    }

    [Fact]
    public void A_missing_spec_file_is_MB1100()
    {
        var e = Assert.Throws<ModelBuildException>(() => SpecParser.ParseFile("/nonexistent/x.yaml"));
        Assert.Equal(ErrorCodes.SpecNotFound, e.Code);
    }
}
