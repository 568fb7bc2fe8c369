using System.Text.Json.Nodes;
using ModelBuild.Compression.Ingestion;
using ModelBuild.Format.Config;

namespace ModelBuild.Compression.Synthesis;

/// <summary>
/// Writes a random-weight checkpoint (f16 unless asked for bf16 or f32) of a preset's shape: config.json, a byte-level tokenizer.json filled
/// to the vocabulary size, and one safetensors shard per decoder layer (plus one for embeddings and head) with
/// an index, so memory stays at one layer. Weights are uniform with standard deviation 0.02, norms 1. The
/// directory appears only when complete.
/// </summary>
public static class SyntheticCheckpoint
{
    private const float WeightStd = 0.02f;

    public static void Write(SynthPreset preset, string directory, int seed = 0, Action<string>? log = null, TensorDType dtype = TensorDType.F16)
    {
        if (Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any())
            throw new IOException($"{directory} exists and is not empty; choose a new directory.");
        string temp = directory.TrimEnd('/', '\\') + ".partial-" + Guid.NewGuid().ToString("N")[..8];
        Directory.CreateDirectory(temp);
        try
        {
            string configJson = preset.Config.ToJson();
            var config = LlamaConfig.Parse(configJson, "synth preset " + preset.Name); // the preset must be a valid config
            File.WriteAllText(Path.Combine(temp, "config.json"), configJson);
            File.WriteAllText(Path.Combine(temp, "tokenizer.json"), Tokenizer(preset.VocabSize));
            var weightMap = new JsonObject();
            int shards = preset.Layers + 1;
            for (int shard = 0; shard < shards; shard++)
            {
                string file = $"model-{shard + 1:D5}-of-{shards:D5}.safetensors";
                var tensors = shard < preset.Layers ? LayerTensors(config, shard) : OuterTensors(config);
                var rng = new Random(unchecked(seed * 1_000_003 + shard) & int.MaxValue); // not HashCode.Combine: it is salted per process
                var data = tensors.Select(t => (t.Name, t.Shape, Fill(t.Shape, t.IsNorm, rng))).ToList();
                SafetensorsWriter.Write(Path.Combine(temp, file), data, dtype);
                foreach (var t in tensors) weightMap[t.Name] = file;
                log?.Invoke($"synth {preset.Name}: shard {shard + 1}/{shards} written");
            }
            File.WriteAllText(Path.Combine(temp, "model.safetensors.index.json"),
                new JsonObject { ["metadata"] = new JsonObject { ["synthetic"] = preset.Name, ["seed"] = seed }, ["weight_map"] = weightMap }.ToJsonString());
            if (Directory.Exists(directory)) Directory.Delete(directory);
            Directory.Move(temp, directory);
        }
        catch
        {
            try { Directory.Delete(temp, recursive: true); } catch (IOException) { }
            throw;
        }
    }

    private sealed record Spec(string Name, long[] Shape, bool IsNorm);

    private static List<Spec> LayerTensors(LlamaConfig c, int layer)
    {
        long h = c.HiddenSize, q = c.NumAttentionHeads * c.HeadDim, kv = c.NumKeyValueHeads * c.HeadDim, f = c.IntermediateSize;
        string p = $"model.layers.{layer}.";
        return
        [
            new(p + "input_layernorm.weight", [h], true),
            new(p + "self_attn.q_proj.weight", [q, h], false),
            new(p + "self_attn.k_proj.weight", [kv, h], false),
            new(p + "self_attn.v_proj.weight", [kv, h], false),
            new(p + "self_attn.o_proj.weight", [h, q], false),
            new(p + "post_attention_layernorm.weight", [h], true),
            new(p + "mlp.gate_proj.weight", [f, h], false),
            new(p + "mlp.up_proj.weight", [f, h], false),
            new(p + "mlp.down_proj.weight", [h, f], false),
        ];
    }

    private static List<Spec> OuterTensors(LlamaConfig c)
    {
        var list = new List<Spec> { new("model.embed_tokens.weight", [c.VocabSize, c.HiddenSize], false), new("model.norm.weight", [c.HiddenSize], true) };
        if (!c.TieWordEmbeddings) list.Add(new("lm_head.weight", [c.VocabSize, c.HiddenSize], false));
        return list;
    }

    private static float[] Fill(long[] shape, bool isNorm, Random rng)
    {
        var data = new float[shape.Aggregate(1L, (a, b) => a * b)];
        if (isNorm) Array.Fill(data, 1f);
        else
        {
            float range = WeightStd * MathF.Sqrt(3); // uniform on [-a, a] has standard deviation a / √3
            for (long i = 0; i < data.LongLength; i++) data[i] = (rng.NextSingle() * 2 - 1) * range;
        }
        return data;
    }

    /// <summary>Three specials, the 256 byte symbols, then filler tokens up to the vocabulary size; no merges.</summary>
    private static string Tokenizer(int vocabSize)
    {
        string[] specials = ["<unk>", "<s>", "</s>"];
        var vocab = new List<string>(specials);
        vocab.AddRange(ByteLevelTokenizerJson.ByteToChar().Select(c => c.ToString()));
        for (int i = vocab.Count; i < vocabSize; i++) vocab.Add($"<synth_{i}>");
        if (vocab.Count > vocabSize) throw new ArgumentException($"a vocabulary of {vocabSize} cannot hold the 259 byte and special tokens.");
        return ByteLevelTokenizerJson.Write(vocab, [], specials);
    }
}
