namespace ModelBuild.Compression.Spec;

/// <summary>Where a value came from in the YAML file, for error messages.</summary>
public readonly record struct SpecLocation(string File, int Line, int Column);

public sealed record CalibrationSpec(string? Text, int Samples, int SequenceLength, int Seed, SpecLocation Location);

public abstract record StageSpec(string Method, IReadOnlyList<string> Targets, IReadOnlyList<string> Ignore, SpecLocation Location);

/// <param name="Outliers">Fraction of each layer's weights kept in f16 beside the grid (SpQR-style), 0 for none.</param>
public sealed record QuantizeSpec(string Method, int Bits, int GroupSize, bool Symmetric, bool ActOrder, double Damp,
    IReadOnlyList<string> Targets, IReadOnlyList<string> Ignore, SpecLocation Location, double Outliers = 0) : StageSpec(Method, Targets, Ignore, Location);

public sealed record SparsifySpec(string Method, string Pattern, IReadOnlyList<string> Targets, IReadOnlyList<string> Ignore, SpecLocation Location)
    : StageSpec(Method, Targets, Ignore, Location);

public sealed record GatesSpec(string? EvalText, double MaxPerplexityIncrease, SpecLocation Location);

/// <summary>A parsed, validated compression spec (see DESIGN.md "Spec").</summary>
public sealed record CompressionSpec(
    string SourcePath, string Text, CalibrationSpec? Calibration, IReadOnlyList<StageSpec> Stages, GatesSpec? Gates, bool AllowQuantizeBeforeSparsify)
{
    public static readonly IReadOnlyList<string> DefaultTargets = new[] { "attention", "mlp" };
}
