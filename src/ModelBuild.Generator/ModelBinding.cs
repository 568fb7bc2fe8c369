using System;
using System.Collections.Generic;

namespace ModelBuild.Generator;

/// <summary>
/// What the generator knows about one model, parsed from its .mbbinding file (key=value lines written by
/// `modelbuild binding`). A value type with structural equality so the incremental pipeline can cache it.
/// </summary>
internal sealed record ModelBinding(
    string SourcePath, string ClassName, string Namespace, string PackFile, string ModelType,
    int VocabSize, int ContextLength, int HiddenSize, int LayerCount, int AttentionHeads, int KeyValueHeads, string? Error, bool Embed = false)
{
    /// <summary>Weights in the original model (from config.json).</summary>
    public long Parameters { get; init; }
    /// <summary>Facts from the compression report; absent in design-time builds and before the first compression.</summary>
    public string? Compression { get; init; }
    public long PackBytes { get; init; }
    public double ZeroFraction { get; init; }
    public string? Perplexity { get; init; }

    public static ModelBinding Parse(string path, string text)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            int eq = line.IndexOf('=');
            if (eq > 0) values[line.Substring(0, eq)] = line.Substring(eq + 1);
        }
        string? error = null;
        string Get(string key)
        {
            if (values.TryGetValue(key, out var v)) return v;
            error ??= $"binding manifest lacks '{key}'";
            return "";
        }
        int GetInt(string key) => int.TryParse(Get(key), out int v) ? v : 0;
        string? Optional(string key) => values.TryGetValue(key, out var v) && v.Length > 0 ? v : null;
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        return new ModelBinding(path, Get("class_name"), values.TryGetValue("namespace", out var ns) ? ns : "", Get("pack_file"), Get("model_type"),
            GetInt("vocab_size"), GetInt("context_length"), GetInt("hidden_size"), GetInt("num_layers"),
            GetInt("num_attention_heads"), GetInt("num_key_value_heads"), error,
            values.TryGetValue("embed", out var embed) && embed == "true")
        {
            Parameters = long.TryParse(Optional("parameters"), System.Globalization.NumberStyles.Integer, inv, out long p) ? p : 0,
            Compression = Optional("compression"),
            PackBytes = long.TryParse(Optional("pack_bytes"), System.Globalization.NumberStyles.Integer, inv, out long bytes) ? bytes : 0,
            ZeroFraction = double.TryParse(Optional("zero_fraction"), System.Globalization.NumberStyles.Float, inv, out double z) ? z : 0,
            Perplexity = Optional("perplexity"),
        };
    }
}
