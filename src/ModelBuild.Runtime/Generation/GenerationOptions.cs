namespace ModelBuild.Runtime;

/// <summary>How to generate: length, sampling and stop conditions. Temperature 0 means greedy.</summary>
public sealed record GenerationOptions
{
    /// <summary>Most tokens to generate (the context length also bounds it).</summary>
    public int MaxTokens { get; init; } = 64;
    /// <summary>Softmax temperature; 0 picks the most likely token every step (greedy, deterministic).</summary>
    public float Temperature { get; init; } = 0.8f;
    /// <summary>Sample only among the K most likely tokens; 0 or less disables the cut.</summary>
    public int TopK { get; init; } = 40;
    /// <summary>Nucleus sampling: the smallest set of tokens whose probabilities sum to at least P.</summary>
    public float TopP { get; init; } = 0.95f;
    /// <summary>Seed of the sampler; the same seed, prompt and options give the same text. Null: random.</summary>
    public int? Seed { get; init; }
    /// <summary>Generation ends before the first occurrence of any of these; the stop text is not returned.</summary>
    public IReadOnlyList<string> StopSequences { get; init; } = Array.Empty<string>();
}
