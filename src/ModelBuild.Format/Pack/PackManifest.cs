using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace ModelBuild.Format.Pack;

/// <summary>A byte range in the pack's data section with its XxHash3 checksum (hex).</summary>
public sealed record BlobRef(long Offset, long Length, string Hash);

/// <summary>
/// One logical tensor. Format "f32"/"f16"/"bf16": a single part "data". Format "gq" (group-quantized, <see cref="Bits"/>
/// 4 or 8): parts "qweight" (row-major, little nibble first for 4-bit), "scales" (f16 [rows, groups]) and
/// "zeros" (u8 [rows, groups]); weight = (q - zero) * scale. Format "gq24": the same parts, with "qweight" holding
/// only two codes of every four columns and their positions (<see cref="Sparse24Layout"/>).
/// </summary>
public sealed record TensorEntry
{
    public required string Name { get; init; }
    public required string Format { get; init; }
    public required long[] Shape { get; init; }
    public int Bits { get; init; }
    public int GroupSize { get; init; }
    public bool Symmetric { get; init; }
    /// <summary>Sparsity pattern the weights were pruned to ("2:4", "50%"), or null when dense.</summary>
    public string? Sparsity { get; init; }
    /// <summary>Number of f16 outliers stored beside the grid (parts outlier_rows, outlier_cols, outlier_values); 0 for none.</summary>
    public int OutlierCount { get; init; }
    public required Dictionary<string, BlobRef> Parts { get; init; }
}

/// <summary>What a pack says about itself: architecture, tokenizer, spec, provenance and tensors.</summary>
public sealed record PackManifest
{
    public const int CurrentFormatVersion = 1;

    public int FormatVersion { get; init; } = CurrentFormatVersion;
    public required string ToolVersion { get; init; }
    /// <summary>config.json of the source checkpoint, verbatim.</summary>
    public required string ConfigJson { get; init; }
    public required string TokenizerJson { get; init; }
    public string? TokenizerConfigJson { get; init; }
    public string? SpecText { get; init; }
    public string? SpecHash { get; init; }
    /// <summary>File name to XxHash3 of each input file of the checkpoint.</summary>
    public Dictionary<string, string> InputHashes { get; init; } = new();
    public required List<TensorEntry> Tensors { get; init; }
    /// <summary>Free-form results: per-layer error, eval numbers.</summary>
    public JsonObject? Report { get; init; }

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = false,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public byte[] ToUtf8() => JsonSerializer.SerializeToUtf8Bytes(this, JsonOptions);

    public static PackManifest FromUtf8(ReadOnlySpan<byte> utf8) =>
        JsonSerializer.Deserialize<PackManifest>(utf8, JsonOptions) ?? throw new InvalidDataException("pack manifest is empty.");
}
