namespace ModelBuild.Runtime;

/// <summary>How to generate: length, sampling and stop conditions. Temperature 0 means greedy.</summary>
public sealed record GenerationOptions
{
    public int MaxTokens { get; init; } = 64;
    public float Temperature { get; init; } = 0.8f;
    public int TopK { get; init; } = 40;
    public float TopP { get; init; } = 0.95f;
    public int? Seed { get; init; }
    public IReadOnlyList<string> StopSequences { get; init; } = Array.Empty<string>();
}
