using ModelBuild.Compression.Calibration;
using ModelBuild.Compression.Diagnostics;
using ModelBuild.Compression.Spec;
using ModelBuild.Runtime.Tokenization;
using ModelBuild.Tests;

namespace ModelBuild.Compression.Tests;

public class CalibrationSetTests
{
    private static readonly ModelTokenizer Tokenizer =
        ModelTokenizer.FromJson(File.ReadAllText(Path.Combine(RepoPaths.FixtureModel, "tokenizer.json")), 1, 2);

    private static CalibrationSpec Spec(string? text = "calib.txt", int samples = 4, int length = 32, int seed = 0) =>
        new(text, samples, length, seed, new SpecLocation("m.yaml", 1, 1));

    private static string SpecPath => Path.Combine(RepoPaths.FixtureModel, "m.yaml"); // calib.txt resolves beside it

    [Fact]
    public void Windows_start_with_BOS_come_from_the_text_and_depend_only_on_the_seed()
    {
        var a = CalibrationSet.Sample(Spec(), SpecPath, Tokenizer, 512);
        Assert.Equal(4 * 32, a.Length);
        for (int s = 0; s < 4; s++) Assert.Equal(1, a[s * 32]);
        Assert.Equal(a, CalibrationSet.Sample(Spec(), SpecPath, Tokenizer, 512));
        Assert.NotEqual(a, CalibrationSet.Sample(Spec(seed: 1), SpecPath, Tokenizer, 512));
        var text = string.Join(",", Tokenizer.Encode(File.ReadAllText(Path.Combine(RepoPaths.FixtureModel, "calib.txt"))));
        Assert.Contains(string.Join(",", a.Skip(1).Take(31)), text);
    }

    [Theory]
    [InlineData(null, 32, 512, "has no 'text'")]
    [InlineData("missing.txt", 32, 512, "not found")]
    [InlineData("calib.txt", 1024, 512, "exceeds the model's context")]
    [InlineData("config.json", 512, 512, "fewer than one window")]
    public void Bad_calibration_settings_name_the_spec_line(string? text, int length, int context, string expected)
    {
        var e = Assert.Throws<ModelBuildException>(() => CalibrationSet.Sample(Spec(text, length: length), SpecPath, Tokenizer, context));
        Assert.Contains(expected, e.Message);
        Assert.Equal(("m.yaml", 1), (e.File, e.Line));
    }
}
