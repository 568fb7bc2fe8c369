using ModelBuild.Compression.Pipeline;
using ModelBuild.Compression.Quantization;
using ModelBuild.Compression.Sparsity;
using ModelBuild.Compression.Spec;
using ModelBuild.Compression.Torch;
using static TorchSharp.torch;

namespace ModelBuild.Compression.Tests;

public class SparsityTests
{
    private const int Rows = 32, Cols = 128, Tokens = 2048;

    private static (Tensor W, Tensor X, Tensor H) Layer(int seed)
    {
        TorchSharpLoader.EnsureLoaded();
        manual_seed(seed);
        var X = randn(Tokens, Cols).matmul(eye(Cols) + randn(Cols, Cols) * 0.3f) * exp(randn(Cols) * 0.8f);
        return (randn(Rows, Cols) * 0.05f, X, X.t().matmul(X) * (2.0f / Tokens));
    }

    private static double OutputError(Tensor w, Tensor wq, Tensor X) => (w - wq).matmul(X.t()).pow(2).sum().item<float>();

    [Theory]
    [InlineData("2:4", 0.5)]
    [InlineData("4:8", 0.5)]
    [InlineData("1:4", 0.75)]
    [InlineData("50%", 0.5)]
    [InlineData("0.3", 0.3)]
    public void Patterns_parse_to_the_right_fraction(string text, double fraction) =>
        Assert.Equal(fraction, SparsityPattern.TryParse(text)!.Fraction, 6);

    [Theory]
    [InlineData("4:2")]
    [InlineData("0:4")]
    [InlineData("150%")]
    [InlineData("half")]
    public void Bad_patterns_do_not_parse(string text) => Assert.Null(SparsityPattern.TryParse(text));

    [Fact]
    public void N_M_masks_prune_exactly_M_minus_N_in_every_group_of_M()
    {
        var (w, _, _) = Layer(1);
        var mask = PruneMask.Select(w.abs(), SparsityPattern.TryParse("2:4")!).reshape(Rows, Cols / 4, 4);
        Assert.True(mask.sum(-1).eq(2).all().item<bool>());
    }

    [Fact]
    public void Unstructured_masks_prune_the_exact_fraction_of_every_row_and_the_smallest_scores()
    {
        var (w, _, _) = Layer(2);
        var mask = PruneMask.Select(w.abs(), SparsityPattern.TryParse("25%")!);
        Assert.True(mask.sum(1).eq(32).all().item<bool>());
        var kept = w.abs().masked_fill(mask, float.PositiveInfinity).min(1).values;
        var prunedMax = w.abs().masked_fill(mask.logical_not(), -1).max(1).values;
        Assert.True(prunedMax.le(kept).all().item<bool>());
    }

    [Theory]
    [InlineData("2:4")]
    [InlineData("50%")]
    public void SparseGPT_beats_Wanda_and_magnitude_on_the_layer_objective(string text)
    {
        var (w, X, H) = Layer(3);
        var pattern = SparsityPattern.TryParse(text)!;
        var sparse = SparseGptPruner.Prune(w, H, pattern, 0.01);
        var magnitude = w.masked_fill(ScorePruners.Magnitude(w, pattern), 0);
        var wanda = w.masked_fill(ScorePruners.Wanda(w, H, pattern), 0);
        double eSparse = OutputError(w, sparse.Weight, X), eWanda = OutputError(w, wanda, X), eMag = OutputError(w, magnitude, X);
        Assert.True(eSparse < eWanda && eWanda < eMag, $"SparseGPT {eSparse:G4}, Wanda {eWanda:G4}, magnitude {eMag:G4}");
        Assert.True(sparse.Weight.masked_select(sparse.Mask).eq(0).all().item<bool>(), "pruned weights are exactly zero");
        Assert.Equal(Rows * Cols / 2, sparse.Mask.sum().item<long>());
    }

    private static IReadOnlyList<StageSpec> Stages(string yaml) => SpecParser.Parse("calibration: { text: x }\n" + yaml, "s.yaml").Stages;

    [Theory]
    [InlineData("sparsegpt", "gptq")]
    [InlineData("wanda", "gptq")]
    [InlineData("magnitude", "rtn")]
    public void Quantization_after_sparsification_keeps_pruned_weights_exactly_zero(string sparsify, string quantize)
    {
        var (w, _, H) = Layer(4);
        var stages = Stages($"stages:\n  - sparsify: {{ method: {sparsify}, pattern: \"2:4\", targets: [mlp] }}\n  - quantize: {{ method: {quantize}, bits: 4, group_size: 32, targets: [mlp] }}\n");
        var result = LayerCompressor.Compress("model.layers.0.mlp.up_proj.weight", w, H, stages);
        var dq = tensor(result.Quantized!.Dequantize()).view(Rows, Cols).reshape(Rows, Cols / 4, 4);
        Assert.True(dq.eq(0).sum(-1).ge(2).all().item<bool>(), "every group of 4 keeps at least its 2 pruned zeros");
        Assert.Equal("2:4", result.Sparsity);
    }

    [Fact]
    public void Sparsify_first_is_no_worse_than_quantize_first()
    {
        var (w, X, H) = Layer(5);
        const string sparsify = "  - sparsify: { method: sparsegpt, pattern: \"2:4\", targets: [mlp] }\n";
        const string quantize = "  - quantize: { method: gptq, bits: 4, group_size: 32, targets: [mlp] }\n";
        var first = LayerCompressor.Compress("model.layers.0.mlp.up_proj.weight", w, H, Stages("stages:\n" + sparsify + quantize));
        var reverse = LayerCompressor.Compress("model.layers.0.mlp.up_proj.weight", w, H, Stages("allow_quantize_before_sparsify: true\nstages:\n" + quantize + sparsify));
        double eFirst = OutputError(w, tensor(first.Quantized!.Dequantize()).view(Rows, Cols), X);
        double eReverse = OutputError(w, tensor(reverse.Quantized!.Dequantize()).view(Rows, Cols), X);
        Assert.True(eFirst <= eReverse, $"sparsify->quantize {eFirst:G4} vs quantize->sparsify {eReverse:G4}");
        Assert.True(tensor(reverse.Quantized!.Dequantize()).view(Rows, Cols / 4, 4).eq(0).sum(-1).ge(2).all().item<bool>());
    }
}
