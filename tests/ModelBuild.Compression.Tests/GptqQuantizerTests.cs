using ModelBuild.Compression.Quantization;
using ModelBuild.Compression.Torch;
using static TorchSharp.torch;

namespace ModelBuild.Compression.Tests;

/// <summary>GPTQ on small synthetic layers whose inputs are correlated, where the answer is known: it beats RTN on the layer objective.</summary>
public class GptqQuantizerTests
{
    private const int Rows = 48, Cols = 128, Tokens = 2048;

    private static (float[] W, Tensor X, Tensor H) Layer(int seed)
    {
        TorchSharpLoader.EnsureLoaded();
        manual_seed(seed);
        // Correlated features with very different scales, as real activations have.
        var mix = eye(Cols) + randn(Cols, Cols) * 0.3f;
        var colScale = exp(randn(Cols) * 0.8f);
        var X = randn(Tokens, Cols).matmul(mix) * colScale;
        var H = X.t().matmul(X) * (2.0f / Tokens);
        var W = (randn(Rows, Cols) * 0.05f).data<float>().ToArray();
        return (W, X, H);
    }

    private static double LayerError(float[] w, float[] wq, Tensor X)
    {
        var d = tensor(w.Zip(wq, (a, b) => a - b).ToArray()).view(Rows, Cols);
        return d.matmul(X.t()).pow(2).sum().item<float>();
    }

    [Theory]
    [InlineData(4, 128, false, false)]
    [InlineData(4, 32, false, false)]
    [InlineData(3, 32, false, true)]
    [InlineData(4, 32, true, true)]
    [InlineData(2, -1, false, false)]
    public void GPTQ_has_lower_layer_output_error_than_RTN(int bits, int group, bool symmetric, bool actOrder)
    {
        var (w, X, H) = Layer(bits * 100 + group);
        var rtn = RtnQuantizer.Quantize(w, Rows, Cols, bits, group, symmetric).Dequantize();
        var gptq = GptqQuantizer.Quantize(tensor(w).view(Rows, Cols), H, new GptqOptions(bits, group, symmetric, actOrder, 0.01)).Matrix;
        double eRtn = LayerError(w, rtn, X), eGptq = LayerError(w, gptq.Dequantize(), X);
        Assert.True(eGptq < 0.8 * eRtn, $"GPTQ {eGptq:G4} vs RTN {eRtn:G4}");
        Assert.All(gptq.Codes, c => Assert.InRange(c, 0, (1 << bits) - 1));
    }

    [Fact]
    public void Dead_input_columns_get_zero_weight_and_no_failure()
    {
        var (w, _, H) = Layer(7);
        var Hd = H.clone();
        Hd[TensorIndex.Colon, 5] = 0;
        Hd[5, TensorIndex.Colon] = 0;
        var q = GptqQuantizer.Quantize(tensor(w).view(Rows, Cols), Hd, new GptqOptions(4, 32, false, false, 0.01)).Matrix;
        for (int r = 0; r < Rows; r++) Assert.Equal(0f, q.Dequantize(r, 5));
    }

    [Fact]
    public void A_singular_Hessian_raises_damp_instead_of_failing()
    {
        // Rank-deficient: only 8 distinct input directions for 128 columns, and no damping asked for.
        manual_seed(1);
        var X = randn(Tokens, 8).matmul(randn(8, Cols));
        var H = X.t().matmul(X);
        var (w, _, _) = Layer(2);
        var result = GptqQuantizer.Quantize(tensor(w).view(Rows, Cols), H, new GptqOptions(4, 128, false, false, 0.0));
        Assert.True(result.DampUsed > 0);
        Assert.All(result.Matrix.Dequantize(), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void The_same_inputs_give_the_same_codes()
    {
        var (w, _, H) = Layer(3);
        var a = GptqQuantizer.Quantize(tensor(w).view(Rows, Cols), H, new GptqOptions(4, 32, false, true, 0.01)).Matrix;
        var b = GptqQuantizer.Quantize(tensor(w).view(Rows, Cols), H, new GptqOptions(4, 32, false, true, 0.01)).Matrix;
        Assert.Equal(a.Codes, b.Codes);
        Assert.Equal(a.Scales, b.Scales);
    }
}
