using ModelBuild.Compression.Ingestion;
using ModelBuild.Compression.Pipeline;
using ModelBuild.Compression.Quantization;
using ModelBuild.Compression.Spec;
using ModelBuild.Compression.Torch;
using ModelBuild.Runtime;
using ModelBuild.Tests;
using static TorchSharp.torch;

namespace ModelBuild.Compression.Tests;

public class OutlierTests
{
    [Fact]
    public void Keeping_outliers_in_f16_lowers_the_layer_error_and_stores_exactly_the_requested_share()
    {
        TorchSharpLoader.EnsureLoaded();
        manual_seed(11);
        const int rows = 64, cols = 128;
        var X = randn(2048, cols).matmul(eye(cols) + randn(cols, cols) * 0.3f);
        var H = X.t().matmul(X) * (2.0f / 2048);
        var w = randn(rows, cols) * 0.05f;
        w[3, 7] = 2.0f; // a heavy outlier that stretches its group's grid
        var plain = GptqQuantizer.Quantize(w, H, new GptqOptions(3, 32, false, false, 0.01)).Matrix;
        var withOutliers = GptqQuantizer.Quantize(w, H, new GptqOptions(3, 32, false, false, 0.01, Outliers: 1.0 / 64)).Matrix;
        double Error(QuantizedMatrix q) => (w - tensor(q.Dequantize()).view(rows, cols)).matmul(X.t()).pow(2).sum().item<float>();
        Assert.Equal(cols, withOutliers.Outliers!.Count); // one per column
        Assert.True(Error(withOutliers) < 0.9 * Error(plain), $"{Error(withOutliers):G4} vs {Error(plain):G4}");
        // Kept (as updated by the error feedback before its column), not clipped to the grid near 0.15.
        Assert.InRange(withOutliers.Dequantize()[3 * cols + 7], 1.9f, 2.1f);
    }

    [Fact]
    public void Outliers_survive_the_pack_and_the_runtime_applies_them()
    {
        using var dir = new RepoPaths.TempDir();
        File.WriteAllText(dir.File("o.yaml"), $"calibration: {{ text: {Path.Combine(RepoPaths.FixtureModel, "calib.txt")}, samples: 8, sequence_length: 64 }}\n" +
            "stages:\n  - quantize: { method: gptq, bits: 3, group_size: 128, outliers: 0.01, targets: [mlp] }\n");
        var cp = Checkpoint.Open(RepoPaths.FixtureModel);
        var result = new Compressor().Compress(cp, SpecParser.ParseFile(dir.File("o.yaml")), dir.File("o.mbpack"));
        Assert.All(result.Report["layers"]!.AsArray(), l => Assert.True(l!["outliers"]!.GetValue<int>() > 0));
        using var model = CausalLanguageModel.Load(dir.File("o.mbpack"));
        var entry = model.Manifest.Tensors.Single(t => t.Name == "model.layers.0.mlp.up_proj.weight");
        // up_proj is [768, 256]: round(0.01 * 768) = 8 outliers in each of its 256 columns.
        Assert.Equal(8 * 256, entry.OutlierCount);
        var logits = new float[model.Config.VocabSize];
        model.CreateSession().Forward(new[] { 1, 100, 200 }, logits);
        Assert.All(logits, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void RTN_with_outliers_is_rejected_at_the_stage()
    {
        var stages = SpecParser.Parse("stages:\n  - quantize: { method: rtn, outliers: 0.01 }\n", "s.yaml").Stages;
        TorchSharpLoader.EnsureLoaded();
        var e = Assert.Throws<Diagnostics.ModelBuildException>(() => LayerCompressor.Compress("model.layers.0.mlp.up_proj.weight", randn(8, 128), null, stages));
        Assert.Equal(2, e.Line);
    }
}
