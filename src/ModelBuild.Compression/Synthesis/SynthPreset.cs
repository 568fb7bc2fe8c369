using System.Text.Json.Nodes;

namespace ModelBuild.Compression.Synthesis;

/// <summary>The shape of a real Llama-family model, for random-weight checkpoints used in speed work (never for quality).</summary>
public sealed record SynthPreset(
    string Name, int HiddenSize, int IntermediateSize, int Layers, int Heads, int KeyValueHeads, int VocabSize,
    int MaxPositions, double RopeTheta, bool TiedEmbeddings, JsonObject? RopeScaling = null)
{
    public static IReadOnlyList<SynthPreset> All { get; } =
    [
        // TinyLlama/TinyLlama-1.1B-Chat-v1.0's config.json.
        new("tinyllama-1.1b", 2048, 5632, 22, 32, 4, 32000, 2048, 10000, TiedEmbeddings: false),
        // meta-llama/Llama-3.2-1B's config.json (rope scaling as shipped).
        new("llama-3.2-1b", 2048, 8192, 16, 32, 8, 128256, 131072, 500000, TiedEmbeddings: true,
            new JsonObject { ["rope_type"] = "llama3", ["factor"] = 32.0, ["low_freq_factor"] = 1.0, ["high_freq_factor"] = 4.0, ["original_max_position_embeddings"] = 8192 }),
        // Small enough for tests: Llama shapes whose dimensions every kernel tiles.
        new("tiny", 256, 768, 2, 8, 4, 512, 512, 10000, TiedEmbeddings: false),
    ];

    public static SynthPreset Find(string name) =>
        All.FirstOrDefault(p => p.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"unknown preset '{name}'; presets: {string.Join(", ", All.Select(p => p.Name))}.");

    public long ParameterCount
    {
        get
        {
            long h = HiddenSize, kv = (long)KeyValueHeads * (HiddenSize / Heads);
            long layer = h * h * 2 + h * kv * 2 + 3 * h * IntermediateSize + 2 * h;
            return Layers * layer + VocabSize * h * (TiedEmbeddings ? 1 : 2) + h;
        }
    }

    public string ConfigJson() => new JsonObject
    {
        ["architectures"] = new JsonArray("LlamaForCausalLM"),
        ["model_type"] = "llama",
        ["vocab_size"] = VocabSize,
        ["hidden_size"] = HiddenSize,
        ["intermediate_size"] = IntermediateSize,
        ["num_hidden_layers"] = Layers,
        ["num_attention_heads"] = Heads,
        ["num_key_value_heads"] = KeyValueHeads,
        ["head_dim"] = HiddenSize / Heads,
        ["max_position_embeddings"] = MaxPositions,
        ["rms_norm_eps"] = 1e-5,
        ["rope_theta"] = RopeTheta,
        ["rope_scaling"] = RopeScaling?.DeepClone(),
        ["tie_word_embeddings"] = TiedEmbeddings,
        ["attention_bias"] = false,
        ["bos_token_id"] = 1,
        ["eos_token_id"] = 2,
        ["hidden_act"] = "silu",
        ["torch_dtype"] = "float16",
    }.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
}
