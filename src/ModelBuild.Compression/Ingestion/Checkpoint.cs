using System.Text.Json;
using ModelBuild.Format.Config;

namespace ModelBuild.Compression.Ingestion;

/// <summary>
/// A Hugging Face model directory: config.json, model.safetensors (or shards listed in
/// model.safetensors.index.json), tokenizer.json and tokenizer_config.json.
/// </summary>
public sealed class Checkpoint
{
    public string Directory { get; }
    public LlamaConfig Config { get; }
    public string ConfigJson { get; }
    public string TokenizerJson { get; }
    public string? TokenizerConfigJson { get; }
    private readonly Dictionary<string, SafetensorsFile> _tensorFiles;

    private Checkpoint(string dir, LlamaConfig config, string configJson, string tokenizerJson, string? tokenizerConfigJson, Dictionary<string, SafetensorsFile> files)
    {
        Directory = dir;
        Config = config;
        ConfigJson = configJson;
        TokenizerJson = tokenizerJson;
        TokenizerConfigJson = tokenizerConfigJson;
        _tensorFiles = files;
    }

    public IEnumerable<string> TensorNames => _tensorFiles.Keys;

    /// <summary>The files whose content defines this checkpoint (for input hashing).</summary>
    public IEnumerable<string> InputFiles =>
        new[] { "config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors.index.json" }.Select(f => Path.Combine(Directory, f)).Where(File.Exists)
            .Concat(_tensorFiles.Values.Select(f => f.Path).Distinct()).OrderBy(p => p, StringComparer.Ordinal);

    public static Checkpoint Open(string dir)
    {
        if (!System.IO.Directory.Exists(dir))
            throw new DirectoryNotFoundException($"model directory not found: {dir}");
        string configPath = Path.Combine(dir, "config.json");
        if (!File.Exists(configPath))
            throw new FileNotFoundException($"{dir}: config.json is missing; a Hugging Face model directory needs config.json, *.safetensors and tokenizer.json.", configPath);
        string configJson = File.ReadAllText(configPath);
        var config = LlamaConfig.Parse(configJson, configPath);
        string tokenizerPath = Path.Combine(dir, "tokenizer.json");
        if (!File.Exists(tokenizerPath))
            throw new FileNotFoundException($"{dir}: tokenizer.json is missing.", tokenizerPath);
        string tokenizerConfigPath = Path.Combine(dir, "tokenizer_config.json");
        return new Checkpoint(dir, config, configJson, File.ReadAllText(tokenizerPath),
            File.Exists(tokenizerConfigPath) ? File.ReadAllText(tokenizerConfigPath) : null, OpenTensorFiles(dir));
    }

    private static Dictionary<string, SafetensorsFile> OpenTensorFiles(string dir)
    {
        var map = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        string index = Path.Combine(dir, "model.safetensors.index.json");
        IEnumerable<string> files;
        if (File.Exists(index))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(index));
            if (!doc.RootElement.TryGetProperty("weight_map", out var wm) || wm.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{index}: weight_map is missing.");
            files = wm.EnumerateObject().Select(p => p.Value.GetString() ?? "").Distinct().ToList();
        }
        else if (File.Exists(Path.Combine(dir, "model.safetensors")))
            files = new[] { "model.safetensors" };
        else
            throw new FileNotFoundException($"{dir}: no model.safetensors or model.safetensors.index.json (only safetensors checkpoints are supported).");

        foreach (var f in files)
        {
            if (f.Contains('/') || f.Contains('\\') || f.Contains(".."))
                throw new InvalidDataException($"{index}: shard name '{f}' must be a plain file name.");
            var file = SafetensorsFile.Open(Path.Combine(dir, f));
            foreach (var name in file.Entries.Keys)
                if (!map.TryAdd(name, file))
                    throw new InvalidDataException($"{dir}: tensor '{name}' appears in more than one shard.");
        }
        return map;
    }

    public bool HasTensor(string name) => _tensorFiles.ContainsKey(name);

    public SafetensorsEntry Entry(string name) =>
        _tensorFiles.TryGetValue(name, out var f) ? f.Entries[name]
            : throw new InvalidDataException($"{Directory}: tensor '{name}' is missing from the checkpoint.");

    /// <summary>Reads a tensor as float32 and checks its shape.</summary>
    public float[] ReadTensor(string name, params long[] expectedShape)
    {
        var e = Entry(name);
        if (!e.Shape.SequenceEqual(expectedShape))
            throw new InvalidDataException($"{Directory}: tensor '{name}' has shape [{string.Join(",", e.Shape)}], config.json implies [{string.Join(",", expectedShape)}].");
        return _tensorFiles[name].ReadFloat(name);
    }
}
