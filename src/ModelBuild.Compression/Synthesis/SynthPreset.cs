using ModelBuild.Format.Config;

namespace ModelBuild.Compression.Synthesis;

/// <summary>The shape of a real Llama-family model, for random-weight checkpoints used in speed work (never for quality).</summary>
public sealed record SynthPreset(
    string Name, int HiddenSize, int IntermediateSize, int Layers, int Heads, int KeyValueHeads, int VocabSize,
    int MaxPositions, double RopeTheta, bool TiedEmbeddings, RopeScaling? RopeScaling = null)
{
    public static IReadOnlyList<SynthPreset> All { get; } =
    [
        // TinyLlama/TinyLlama-1.1B-Chat-v1.0's config.json.
        new("tinyllama-1.1b", 2048, 5632, 22, 32, 4, 32000, 2048, 10000, TiedEmbeddings: false),
        // meta-llama/Llama-3.2-1B's config.json (rope scaling as shipped).
        new("llama-3.2-1b", 2048, 8192, 16, 32, 8, 128256, 131072, 500000, TiedEmbeddings: true,
            new RopeScaling("llama3", 32.0, LowFreqFactor: 1.0, HighFreqFactor: 4.0, OriginalMaxPositionEmbeddings: 8192)),
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

    /// <summary>The preset as a config (written out by <see cref="LlamaConfig.ToJson"/> like any config.json this tool writes).</summary>
    public LlamaConfig Config => new()
    {
        VocabSize = VocabSize,
        HiddenSize = HiddenSize,
        IntermediateSize = IntermediateSize,
        NumHiddenLayers = Layers,
        NumAttentionHeads = Heads,
        NumKeyValueHeads = KeyValueHeads,
        HeadDim = HiddenSize / Heads,
        MaxPositionEmbeddings = MaxPositions,
        RmsNormEps = 1e-5,
        RopeTheta = RopeTheta,
        RopeScaling = RopeScaling,
        TieWordEmbeddings = TiedEmbeddings,
    };
}
