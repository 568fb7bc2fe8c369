using System.Text;
using ModelBuild.Format.Config;

namespace ModelBuild.Cli.Commands;

/// <summary>
/// Writes the binding manifest the source generator reads: key=value lines, cheap to make from config.json
/// alone (no compression), so design-time builds can have it too. When the compression report exists (a full
/// build compresses first), its facts are added for the generated class's doc comments.
/// </summary>
public static class BindingCommand
{
    public static int Run(IEnumerable<string> args)
    {
        var cl = new CommandLine(args, new[] { "--class-name", "--namespace", "--pack-file", "--report", "-o" }, new[] { "--embed" });
        string modelDir = cl.Positional0("model directory");
        string configPath = Path.Combine(modelDir, "config.json");
        if (!File.Exists(configPath)) throw new FileNotFoundException($"{modelDir}: config.json is missing.", configPath);
        var c = LlamaConfig.Parse(File.ReadAllText(configPath), configPath);
        var sb = new StringBuilder();
        sb.Append("class_name=").Append(cl.Require("--class-name")).Append('\n');
        sb.Append("namespace=").Append(cl.Get("--namespace") ?? "").Append('\n');
        sb.Append("pack_file=").Append(cl.Require("--pack-file")).Append('\n');
        sb.Append("embed=").Append(cl.Has("--embed") ? "true" : "false").Append('\n');
        sb.Append("model_type=").Append(c.ModelType).Append('\n');
        sb.Append("vocab_size=").Append(c.VocabSize).Append('\n');
        sb.Append("context_length=").Append(c.MaxPositionEmbeddings).Append('\n');
        sb.Append("hidden_size=").Append(c.HiddenSize).Append('\n');
        sb.Append("num_layers=").Append(c.NumHiddenLayers).Append('\n');
        sb.Append("num_attention_heads=").Append(c.NumAttentionHeads).Append('\n');
        sb.Append("num_key_value_heads=").Append(c.NumKeyValueHeads).Append('\n');
        sb.Append("parameters=").Append(Compression.Torch.TorchLlama.WeightShapes(c).Sum(t => t.Shape.Aggregate(1L, (a, d) => a * d))).Append('\n');
        if (cl.Get("--report") is { } reportPath && File.Exists(reportPath)) AppendReportFacts(sb, reportPath);
        string output = cl.Require("-o");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        string content = sb.ToString();
        // Leave an identical file untouched so incremental builds and the generator see no change.
        if (!File.Exists(output) || File.ReadAllText(output) != content) Compression.IO.AtomicFile.WriteAllText(output, content);
        return 0;
    }

    /// <summary>Compression, pack size, sparsity and the gate's perplexities, as single lines.</summary>
    private static void AppendReportFacts(StringBuilder sb, string reportPath)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var report = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(reportPath)) as System.Text.Json.Nodes.JsonObject
            ?? throw new InvalidDataException($"{reportPath}: not a compression report.");
        if (report["stages"] is System.Text.Json.Nodes.JsonArray stages)
            sb.Append("compression=").Append(stages.Count == 0 ? "none (f16)" : string.Join(", then ", stages.Select(s => s!.GetValue<string>()))).Append('\n');
        if (report["pack_bytes"] is { } bytes) sb.Append("pack_bytes=").Append(bytes.GetValue<long>().ToString(inv)).Append('\n');
        if (report["zero_fraction"] is { } zeros) sb.Append("zero_fraction=").Append(zeros.GetValue<double>().ToString("R", inv)).Append('\n');
        if (report["gate"] is System.Text.Json.Nodes.JsonObject gate)
            sb.Append("perplexity=").Append(string.Create(inv,
                $"{gate["compressed_perplexity"]!.GetValue<double>():F3} on {Path.GetFileName(gate["eval_text"]!.GetValue<string>())} (original {gate["original_perplexity"]!.GetValue<double>():F3}, {gate["relative_increase"]!.GetValue<double>() * 100:+0.00;-0.00} %)")).Append('\n');
    }
}
