using System.Diagnostics;
using ModelBuild.Compression.Ingestion;
using ModelBuild.Compression.Quantization;
using ModelBuild.Compression.Spec;
using ModelBuild.Compression.Torch;
using static TorchSharp.torch;

namespace ModelBuild.Compression.Pipeline;

/// <summary>
/// Runs GPTQ decoder block by block on calibration activations that flow through the already compressed
/// blocks. Inside a block the linear layers are done in execution order (q/k/v, o, gate/up, down), each
/// group's Hessian taken from inputs computed with the layers before it already quantized.
/// </summary>
public sealed class GptqPipeline(Action<string>? log)
{
    public sealed record LayerResult(QuantizedMatrix Matrix, double RelativeOutputError, double DampUsed);

    public Dictionary<string, LayerResult> Run(Checkpoint checkpoint, QuantizeSpec quantize, long[] calibrationIds, int sequenceLength)
    {
        TorchSharpLoader.EnsureLoaded();
        var c = checkpoint.Config;
        var options = new GptqOptions(quantize.Bits, quantize.GroupSize, quantize.Symmetric, quantize.ActOrder, quantize.Damp);
        var results = new Dictionary<string, LayerResult>(StringComparer.Ordinal);
        var weights = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, shape) in TorchLlama.WeightShapes(c))
            weights[name] = tensor(checkpoint.ReadTensor(name, shape)).view(shape);
        var model = new TorchLlama(c, weights);
        var sw = Stopwatch.StartNew();
        using var _ = no_grad();
        int samples = calibrationIds.Length / sequenceLength;
        var x = model.Embed(tensor(calibrationIds).view(samples, sequenceLength));
        var (cos, sin) = model.RopeTables(sequenceLength, x.device);

        void Compress(Tensor input, params string[] layers)
        {
            var targeted = layers.Where(l => LayerSelector.Matches(l + ".weight", quantize.Targets, quantize.Ignore)).ToList();
            if (targeted.Count == 0) return;
            using var scope = NewDisposeScope();
            var flat = input.reshape(-1, input.shape[^1]);
            var H = flat.t().matmul(flat) * (2.0f / flat.shape[0]);
            foreach (var layer in targeted)
            {
                var w = weights[layer + ".weight"];
                var result = GptqQuantizer.Quantize(w, H, options);
                var dequantized = tensor(result.Matrix.Dequantize()).view(w.shape);
                var diff = w - dequantized;
                // ||(W - Ŵ)X||² / ||WX||² = tr(D H Dᵀ) / tr(W H Wᵀ)
                double rel = Math.Sqrt(diff.matmul(H).mul(diff).sum().item<float>() / Math.Max(1e-30, w.matmul(H).mul(w).sum().item<float>()));
                results[layer + ".weight"] = new LayerResult(result.Matrix, rel, result.DampUsed);
                weights[layer + ".weight"] = dequantized.MoveToOuterDisposeScope();
                w.Dispose();
            }
        }

        for (int l = 0; l < c.NumHiddenLayers; l++)
        {
            using var scope = NewDisposeScope();
            string p = TorchLlama.LayerPrefix(l);
            var xn = model.RmsNorm(x, p + "input_layernorm.weight");
            Compress(xn, p + "self_attn.q_proj", p + "self_attn.k_proj", p + "self_attn.v_proj");
            var context = model.AttentionContext(p, xn, cos, sin);
            Compress(context, p + "self_attn.o_proj");
            var x2 = x + model.Linear(context, p + "self_attn.o_proj");
            var xn2 = model.RmsNorm(x2, p + "post_attention_layernorm.weight");
            Compress(xn2, p + "mlp.gate_proj", p + "mlp.up_proj");
            var act = model.MlpActivation(p, xn2);
            Compress(act, p + "mlp.down_proj");
            x = (x2 + model.Linear(act, p + "mlp.down_proj")).MoveToOuterDisposeScope();
            double perBlock = sw.Elapsed.TotalSeconds / (l + 1);
            log?.Invoke($"block {l + 1}/{c.NumHiddenLayers} gptq done ({sw.Elapsed.TotalSeconds:F1}s, ETA {perBlock * (c.NumHiddenLayers - l - 1):F0}s)");
        }
        if (LayerSelector.Matches("lm_head.weight", quantize.Targets, quantize.Ignore) && weights.ContainsKey("lm_head.weight"))
            Compress(model.RmsNorm(x, "model.norm.weight"), "lm_head");
        foreach (var w in weights.Values) w.Dispose();
        return results;
    }
}
