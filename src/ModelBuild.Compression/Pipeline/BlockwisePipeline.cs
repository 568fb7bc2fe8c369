using System.Diagnostics;
using ModelBuild.Compression.Ingestion;
using ModelBuild.Compression.Spec;
using ModelBuild.Compression.Torch;
using static TorchSharp.torch;

namespace ModelBuild.Compression.Pipeline;

/// <summary>
/// Compresses decoder block by block on calibration activations that flow through the already compressed
/// blocks (as GPTQ and SparseGPT do). Inside a block the linear layers go in execution order (q/k/v, o,
/// gate/up, down); each group's Hessian H = 2XXᵀ/N comes from inputs computed with the layers before it
/// already compressed.
/// </summary>
public sealed class BlockwisePipeline(Action<string>? log)
{
    public Dictionary<string, LayerResult> Run(Checkpoint checkpoint, IReadOnlyList<StageSpec> stages, long[] calibrationIds, int sequenceLength)
    {
        TorchSharpLoader.EnsureLoaded();
        var c = checkpoint.Config;
        var results = new Dictionary<string, LayerResult>(StringComparer.Ordinal);
        // Only the weights of the block being compressed are in memory (plus the embedding at the start and
        // the head at the end), so peak memory is one block plus the calibration activations.
        var shapes = TorchLlama.WeightShapes(c).ToDictionary(s => s.Name, s => s.Shape);
        var weights = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        void Load(Func<string, bool> which)
        {
            foreach (var (name, shape) in shapes)
                if (which(name) && !weights.ContainsKey(name)) weights[name] = tensor(checkpoint.ReadTensor(name, shape)).view(shape);
        }
        void Release(Func<string, bool> which)
        {
            foreach (var name in weights.Keys.Where(which).ToList())
            {
                weights[name].Dispose();
                weights.Remove(name);
            }
        }
        var model = new TorchLlama(c, weights);
        Load(n => n == "model.embed_tokens.weight");
        var sw = Stopwatch.StartNew();
        using var _ = no_grad();
        int samples = calibrationIds.Length / sequenceLength;
        var x = model.Embed(tensor(calibrationIds).view(samples, sequenceLength));
        Release(n => n == "model.embed_tokens.weight");
        var (cos, sin) = model.RopeTables(sequenceLength, x.device);

        void Compress(Tensor input, params string[] layers)
        {
            var targeted = layers.Select(l => l + ".weight").Where(n => stages.Any(s => LayerSelector.Matches(n, s.Targets, s.Ignore))).ToList();
            if (targeted.Count == 0) return;
            using var scope = NewDisposeScope();
            var flat = input.reshape(-1, input.shape[^1]);
            var H = flat.t().matmul(flat).Times(2.0f / flat.shape[0]);
            foreach (var name in targeted)
            {
                var result = LayerCompressor.Compress(name, weights[name], H, stages);
                results[name] = result;
                var old = weights[name];
                weights[name] = tensor(result.Quantized?.Dequantize() ?? result.Dense!).view(old.shape).MoveToOuterDisposeScope();
                old.Dispose();
            }
        }

        for (int l = 0; l < c.NumHiddenLayers; l++)
        {
            using var scope = NewDisposeScope();
            string p = TorchLlama.LayerPrefix(l);
            Load(n => n.StartsWith(p, StringComparison.Ordinal));
            var xn = model.RmsNorm(x, p + "input_layernorm.weight");
            Compress(xn, p + "self_attn.q_proj", p + "self_attn.k_proj", p + "self_attn.v_proj");
            var context = model.AttentionContext(p, xn, cos, sin);
            Compress(context, p + "self_attn.o_proj");
            var x2 = x.Plus(model.Linear(context, p + "self_attn.o_proj"));
            var xn2 = model.RmsNorm(x2, p + "post_attention_layernorm.weight");
            Compress(xn2, p + "mlp.gate_proj", p + "mlp.up_proj");
            var act = model.MlpActivation(p, xn2);
            Compress(act, p + "mlp.down_proj");
            x = x2.Plus(model.Linear(act, p + "mlp.down_proj")).MoveToOuterDisposeScope();
            Release(n => n.StartsWith(p, StringComparison.Ordinal));
            double perBlock = sw.Elapsed.TotalSeconds / (l + 1);
            log?.Invoke($"block {l + 1}/{c.NumHiddenLayers} compressed ({sw.Elapsed.TotalSeconds:F1}s, ETA {perBlock * (c.NumHiddenLayers - l - 1):F0}s)");
        }
        if (shapes.ContainsKey("lm_head.weight") && stages.Any(s => LayerSelector.Matches("lm_head.weight", s.Targets, s.Ignore)))
        {
            Load(n => n is "lm_head.weight" or "model.norm.weight");
            Compress(model.RmsNorm(x, "model.norm.weight"), "lm_head");
        }
        foreach (var w in weights.Values) w.Dispose();
        return results;
    }
}
