using System.Text.Json;
using System.Text.Json.Nodes;
using ModelBuild.Format.Config;
using ModelBuild.Format.Pack;

namespace ModelBuild.Cli.Commands;

public static class InspectCommand
{
    public static int Run(IEnumerable<string> args)
    {
        var cl = new CommandLine(args, Array.Empty<string>(), new[] { "--json" });
        using var pack = PackReader.Open(cl.Positional0("pack path"), verifyChecksums: false);
        var m = pack.Manifest;
        var config = LlamaConfig.Parse(m.ConfigJson, "manifest config");
        long weightBytes = m.Tensors.Sum(t => t.Parts.Values.Sum(p => p.Length));
        if (cl.Has("--json"))
        {
            var o = new JsonObject
            {
                ["path"] = pack.Path, ["file_bytes"] = pack.FileLength, ["format_version"] = m.FormatVersion, ["tool_version"] = m.ToolVersion,
                ["model_type"] = config.ModelType, ["spec_hash"] = m.SpecHash, ["spec"] = m.SpecText, ["weight_bytes"] = weightBytes,
                ["inputs"] = new JsonObject(m.InputHashes.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
                ["tensors"] = new JsonArray(m.Tensors.Select(t => (JsonNode)new JsonObject
                {
                    ["name"] = t.Name, ["format"] = Describe(t), ["shape"] = new JsonArray(t.Shape.Select(s => (JsonNode)s).ToArray()),
                    ["bytes"] = t.Parts.Values.Sum(p => p.Length),
                }).ToArray()),
                ["report"] = m.Report?.DeepClone(),
            };
            Console.WriteLine(o.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }
        Console.WriteLine($"{pack.Path}: ModelBuild pack v{m.FormatVersion}, {pack.FileLength / 1048576.0:F2} MiB, tool {m.ToolVersion}");
        Console.WriteLine($"model: {config.ModelType}, hidden {config.HiddenSize}, {config.NumHiddenLayers} layers, {config.NumAttentionHeads}/{config.NumKeyValueHeads} heads, vocab {config.VocabSize}, context {config.MaxPositionEmbeddings}");
        Console.WriteLine($"spec: {(m.SpecHash is null ? "(none: f16 conversion)" : m.SpecHash)}");
        foreach (var line in (m.SpecText ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries)) Console.WriteLine("  | " + line);
        Console.WriteLine("inputs: " + string.Join(", ", m.InputHashes.Select(kv => $"{kv.Key}={kv.Value}")));
        Console.WriteLine($"tensors ({m.Tensors.Count}, {weightBytes / 1048576.0:F2} MiB):");
        foreach (var group in m.Tensors.GroupBy(Describe))
            Console.WriteLine($"  {group.Key,-28} {group.Count(),4} tensors {group.Sum(t => t.Parts.Values.Sum(p => p.Length)) / 1048576.0,8:F2} MiB");
        if (m.Report?["layers"] is JsonArray layers && layers.Count > 0)
        {
            // Output error (needs calibration) says more than weight error; use it when the report has it.
            string key = layers[0]!["relative_output_error"] is null ? "relative_weight_error" : "relative_output_error";
            var worst = layers.OrderByDescending(l => l![key]!.GetValue<double>()).Take(3);
            Console.WriteLine($"worst layers ({key.Replace('_', ' ')}): " + string.Join(", ", worst.Select(l => $"{l!["tensor"]} {l[key]}")));
        }
        return 0;
    }

    private static string Describe(TensorEntry t) =>
        (t.Format is TensorLayout.GroupQuantized or TensorLayout.GroupQuantizedSparse24 ? $"int{t.Bits} g{t.GroupSize}{(t.Symmetric ? " sym" : "")}" : t.Format)
        + (t.Sparsity is null ? "" : $" {t.Sparsity} sparse") + (t.Format is TensorLayout.GroupQuantizedSparse24 or TensorLayout.F16Sparse24 ? ", packed" : "") + (t.OutlierCount > 0 ? " +outliers" : "");
}
