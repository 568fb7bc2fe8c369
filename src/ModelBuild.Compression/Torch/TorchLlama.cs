using ModelBuild.Format.Config;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ModelBuild.Compression.Torch;

/// <summary>
/// The Llama forward pass in TorchSharp over Hugging Face-named weights. Used to train the fixture model,
/// as the reference the packed runtime is checked against, and (later) to run calibration block by block.
/// </summary>
public sealed class TorchLlama
{
    public LlamaConfig Config { get; }
    public IReadOnlyDictionary<string, Tensor> Weights { get; }

    public TorchLlama(LlamaConfig config, IReadOnlyDictionary<string, Tensor> weights)
    {
        Config = config;
        Weights = weights;
    }

    public static string LayerPrefix(int layer) => $"model.layers.{layer}.";

    /// <summary>Names and shapes of every weight, in HF naming, as [out, in] for linear layers.</summary>
    public static IEnumerable<(string Name, long[] Shape)> WeightShapes(LlamaConfig c)
    {
        long h = c.HiddenSize, q = c.NumAttentionHeads * c.HeadDim, kv = c.NumKeyValueHeads * c.HeadDim, f = c.IntermediateSize;
        yield return ("model.embed_tokens.weight", new[] { (long)c.VocabSize, h });
        for (int l = 0; l < c.NumHiddenLayers; l++)
        {
            string p = LayerPrefix(l);
            yield return (p + "input_layernorm.weight", new[] { h });
            yield return (p + "self_attn.q_proj.weight", new[] { q, h });
            yield return (p + "self_attn.k_proj.weight", new[] { kv, h });
            yield return (p + "self_attn.v_proj.weight", new[] { kv, h });
            if (c.AttentionBias)
            {
                yield return (p + "self_attn.q_proj.bias", new[] { q });
                yield return (p + "self_attn.k_proj.bias", new[] { kv });
                yield return (p + "self_attn.v_proj.bias", new[] { kv });
            }
            yield return (p + "self_attn.o_proj.weight", new[] { h, q });
            yield return (p + "post_attention_layernorm.weight", new[] { h });
            yield return (p + "mlp.gate_proj.weight", new[] { f, h });
            yield return (p + "mlp.up_proj.weight", new[] { f, h });
            yield return (p + "mlp.down_proj.weight", new[] { h, f });
        }
        yield return ("model.norm.weight", new[] { h });
        if (!c.TieWordEmbeddings) yield return ("lm_head.weight", new[] { (long)c.VocabSize, h });
    }

    /// <summary>Logits [batch, tokens, vocab] for token ids [batch, tokens] starting at position 0.</summary>
    public Tensor Forward(Tensor ids)
    {
        var x = Embed(ids);
        var (cos, sin) = RopeTables(ids.shape[1], x.device);
        for (int l = 0; l < Config.NumHiddenLayers; l++) x = Block(l, x, cos, sin);
        return Head(x);
    }

    public Tensor Embed(Tensor ids) =>
        Weights["model.embed_tokens.weight"].index_select(0, ids.flatten()).view(ids.shape[0], ids.shape[1], Config.HiddenSize);

    public Tensor Head(Tensor x)
    {
        x = RmsNorm(x, "model.norm.weight");
        var head = Config.TieWordEmbeddings && !Weights.ContainsKey("lm_head.weight") ? Weights["model.embed_tokens.weight"] : Weights["lm_head.weight"];
        return F.linear(x, head);
    }

    /// <summary>One decoder block. Its steps are public so calibration can capture each linear layer's input.</summary>
    public Tensor Block(int layer, Tensor x, Tensor cos, Tensor sin)
    {
        string p = LayerPrefix(layer);
        x = x.Plus(Linear(AttentionContext(p, RmsNorm(x, p + "input_layernorm.weight"), cos, sin), p + "self_attn.o_proj"));
        return x.Plus(Linear(MlpActivation(p, RmsNorm(x, p + "post_attention_layernorm.weight")), p + "mlp.down_proj"));
    }

    /// <summary>x·Wᵀ (+ bias) for the linear layer named <paramref name="name"/> (without ".weight").</summary>
    public Tensor Linear(Tensor x, string name) =>
        F.linear(x, Weights[name + ".weight"], Weights.TryGetValue(name + ".bias", out var b) ? b : null);

    /// <summary>SiLU(gate(x)) * up(x): the input of down_proj.</summary>
    public Tensor MlpActivation(string p, Tensor xn) => F.silu(Linear(xn, p + "mlp.gate_proj")) * Linear(xn, p + "mlp.up_proj");

    /// <summary>Causal grouped-query attention of the normed input; returns the heads' output before o_proj.</summary>
    public Tensor AttentionContext(string p, Tensor x, Tensor cos, Tensor sin)
    {
        long b = x.shape[0], t = x.shape[1];
        int hd = Config.HeadDim, nh = Config.NumAttentionHeads, nkv = Config.NumKeyValueHeads;
        var q = Linear(x, p + "self_attn.q_proj").view(b, t, nh, hd).transpose(1, 2);
        var k = Linear(x, p + "self_attn.k_proj").view(b, t, nkv, hd).transpose(1, 2);
        var v = Linear(x, p + "self_attn.v_proj").view(b, t, nkv, hd).transpose(1, 2);
        q = ApplyRope(q, cos, sin);
        k = ApplyRope(k, cos, sin);
        if (nh != nkv)
        {
            k = k.repeat_interleave(nh / nkv, dim: 1);
            v = v.repeat_interleave(nh / nkv, dim: 1);
        }
        var scores = q.matmul(k.transpose(2, 3)).Over(Math.Sqrt(hd));
        var mask = ones(t, t, dtype: ScalarType.Bool, device: x.device).triu(1);
        scores = scores.Filled(mask, double.NegativeInfinity);
        return scores.softmax(-1).matmul(v).transpose(1, 2).reshape(b, t, nh * hd);
    }

    public Tensor RmsNorm(Tensor x, string weightName) =>
        x * rsqrt(x.square().mean(new long[] { -1 }, keepdim: true).Plus(Config.RmsNormEps)) * Weights[weightName];

    /// <summary>cos/sin tables [tokens, head_dim] in HF's half-split layout.</summary>
    public (Tensor Cos, Tensor Sin) RopeTables(long tokens, Device device)
    {
        var inv = tensor(RopeFrequencies.InverseFrequencies(Config).Select(d => (float)d).ToArray(), device: device);
        using var count = tokens.ToScalar(); // held, not implicit (TorchScalars)
        var pos = arange(count, dtype: ScalarType.Float32, device: device);
        var freqs = outer(pos, inv);
        var emb = cat(new[] { freqs, freqs }, -1);
        return (emb.cos(), emb.sin());
    }

    private static Tensor ApplyRope(Tensor x, Tensor cos, Tensor sin)
    {
        long half = x.shape[^1] / 2;
        var x1 = x.narrow(-1, 0, half);
        var x2 = x.narrow(-1, half, half);
        var rotated = cat(new[] { -x2, x1 }, -1);
        return (x * cos).Plus(rotated * sin);
    }
}
