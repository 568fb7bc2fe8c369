using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelBuild.Format.Config;

/// <summary>
/// The Llama-family architecture as Hugging Face's config.json defines it (Llama 2/3, TinyLlama, Mistral
/// without sliding window, Qwen2 with qkv bias).
/// </summary>
public sealed record LlamaConfig
{
    public string ModelType { get; init; } = "llama";
    public int VocabSize { get; init; }
    public int HiddenSize { get; init; }
    public int IntermediateSize { get; init; }
    public int NumHiddenLayers { get; init; }
    public int NumAttentionHeads { get; init; }
    public int NumKeyValueHeads { get; init; }
    public int HeadDim { get; init; }
    public int MaxPositionEmbeddings { get; init; }
    public double RmsNormEps { get; init; } = 1e-6;
    public double RopeTheta { get; init; } = 10000;
    public RopeScaling? RopeScaling { get; init; }
    public bool TieWordEmbeddings { get; init; }
    public bool AttentionBias { get; init; }
    public int BosTokenId { get; init; } = 1;
    public int EosTokenId { get; init; } = 2;

    public static readonly IReadOnlySet<string> SupportedModelTypes = new HashSet<string> { "llama", "mistral", "qwen2" };

    /// <summary>Parses config.json; throws <see cref="FormatException"/> naming the field on bad or unsupported values.</summary>
    public static LlamaConfig Parse(string json, string sourceName = "config.json")
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json) as JsonObject ?? throw new FormatException($"{sourceName}: expected a JSON object");
        }
        catch (JsonException e)
        {
            throw new FormatException($"{sourceName}: invalid JSON at line {e.LineNumber + 1}: {e.Message}", e);
        }
        // JsonNode's accessors throw InvalidOperationException for values of the wrong kind and ArgumentException for
        // duplicate properties (found by fuzzing); both are malformed input.
        try { return FromObject(root, sourceName); }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            throw new FormatException($"{sourceName}: {e.Message}", e);
        }
    }

    private static LlamaConfig FromObject(JsonObject root, string sourceName)
    {
        string modelType = Str(root, "model_type", sourceName) ?? "";
        if (!SupportedModelTypes.Contains(modelType))
            throw new NotSupportedException($"{sourceName}: model_type '{modelType}' is not supported; supported: {string.Join(", ", SupportedModelTypes)} (the Llama family).");
        int heads = Int(root, "num_attention_heads", sourceName, required: true);
        int hidden = Int(root, "hidden_size", sourceName, required: true);
        var config = new LlamaConfig
        {
            ModelType = modelType,
            VocabSize = Int(root, "vocab_size", sourceName, required: true),
            HiddenSize = hidden,
            IntermediateSize = Int(root, "intermediate_size", sourceName, required: true),
            NumHiddenLayers = Int(root, "num_hidden_layers", sourceName, required: true),
            NumAttentionHeads = heads,
            NumKeyValueHeads = Int(root, "num_key_value_heads", sourceName) is var kv && kv > 0 ? kv : heads,
            HeadDim = Int(root, "head_dim", sourceName) is var hd && hd > 0 ? hd : hidden / Math.Max(1, heads),
            MaxPositionEmbeddings = Int(root, "max_position_embeddings", sourceName) is var mp && mp > 0 ? mp : 2048,
            RmsNormEps = Dbl(root, "rms_norm_eps") ?? 1e-6,
            RopeTheta = Dbl(root, "rope_theta") ?? 10000,
            RopeScaling = ParseRopeScaling(root["rope_scaling"], sourceName),
            TieWordEmbeddings = root["tie_word_embeddings"]?.GetValue<bool>() ?? false,
            AttentionBias = root["attention_bias"]?.GetValue<bool>() ?? modelType == "qwen2",
            BosTokenId = Int(root, "bos_token_id", sourceName) is var b && b >= 0 ? b : 1,
            EosTokenId = FirstInt(root["eos_token_id"]) ?? 2,
        };
        config.Validate(sourceName);
        return config;
    }

    public void Validate(string sourceName = "config.json")
    {
        void Positive(int v, string name) { if (v <= 0) throw new FormatException($"{sourceName}: {name} must be positive (got {v})."); }
        Positive(VocabSize, "vocab_size"); Positive(HiddenSize, "hidden_size"); Positive(IntermediateSize, "intermediate_size");
        Positive(NumHiddenLayers, "num_hidden_layers"); Positive(NumAttentionHeads, "num_attention_heads");
        Positive(NumKeyValueHeads, "num_key_value_heads"); Positive(HeadDim, "head_dim");
        if (NumAttentionHeads % NumKeyValueHeads != 0)
            throw new FormatException($"{sourceName}: num_attention_heads ({NumAttentionHeads}) must be a multiple of num_key_value_heads ({NumKeyValueHeads}).");
        if (HeadDim % 2 != 0)
            throw new FormatException($"{sourceName}: head_dim ({HeadDim}) must be even for RoPE.");
    }

    public string ToJson()
    {
        var o = new JsonObject
        {
            ["architectures"] = new JsonArray(ModelType == "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM"),
            ["model_type"] = ModelType,
            ["vocab_size"] = VocabSize,
            ["hidden_size"] = HiddenSize,
            ["intermediate_size"] = IntermediateSize,
            ["num_hidden_layers"] = NumHiddenLayers,
            ["num_attention_heads"] = NumAttentionHeads,
            ["num_key_value_heads"] = NumKeyValueHeads,
            ["head_dim"] = HeadDim,
            ["max_position_embeddings"] = MaxPositionEmbeddings,
            ["rms_norm_eps"] = RmsNormEps,
            ["rope_theta"] = RopeTheta,
            ["rope_scaling"] = RopeScaling is null ? null : new JsonObject
            {
                ["rope_type"] = RopeScaling.Type,
                ["factor"] = RopeScaling.Factor,
                ["low_freq_factor"] = RopeScaling.LowFreqFactor,
                ["high_freq_factor"] = RopeScaling.HighFreqFactor,
                ["original_max_position_embeddings"] = RopeScaling.OriginalMaxPositionEmbeddings,
            },
            ["tie_word_embeddings"] = TieWordEmbeddings,
            ["attention_bias"] = AttentionBias,
            ["bos_token_id"] = BosTokenId,
            ["eos_token_id"] = EosTokenId,
            ["hidden_act"] = "silu",
            ["torch_dtype"] = "float16",
        };
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    private static RopeScaling? ParseRopeScaling(JsonNode? node, string sourceName)
    {
        if (node is not JsonObject o) return null;
        string type = (o["rope_type"] ?? o["type"])?.GetValue<string>() ?? "default";
        double factor = o["factor"]?.GetValue<double>() ?? 1;
        return type switch
        {
            "default" => null,
            "linear" => new RopeScaling("linear", factor),
            "llama3" => new RopeScaling("llama3", factor,
                o["low_freq_factor"]?.GetValue<double>() ?? 1, o["high_freq_factor"]?.GetValue<double>() ?? 4,
                o["original_max_position_embeddings"]?.GetValue<int>() ?? 8192),
            _ => throw new NotSupportedException($"{sourceName}: rope_scaling type '{type}' is not supported; supported: linear, llama3."),
        };
    }

    private static string? Str(JsonObject o, string name, string src)
    {
        var n = o[name];
        if (n is null) return null;
        try { return n.GetValue<string>(); }
        catch (InvalidOperationException) { throw new FormatException($"{src}: {name} must be a string."); }
    }

    private static int Int(JsonObject o, string name, string src, bool required = false)
    {
        var n = o[name];
        if (n is null)
        {
            if (required) throw new FormatException($"{src}: required field '{name}' is missing.");
            return -1;
        }
        try { return n.GetValue<int>(); }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        { throw new FormatException($"{src}: {name} must be an integer (got {n.ToJsonString()})."); }
    }

    private static double? Dbl(JsonObject o, string name) => o[name] is { } n ? n.GetValue<double>() : null;

    private static int? FirstInt(JsonNode? n) => n switch
    {
        null => null,
        JsonArray a when a.Count > 0 => a[0]!.GetValue<int>(),
        JsonValue v => v.GetValue<int>(),
        _ => null,
    };
}
