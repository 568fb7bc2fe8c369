using System.Text;
using ModelBuild.Format.Config;

namespace ModelBuild.Cli.Commands;

/// <summary>
/// Writes the binding manifest the source generator reads: key=value lines, cheap to make from config.json
/// alone (no compression), so design-time builds can have it too.
/// </summary>
public static class BindingCommand
{
    public static int Run(IEnumerable<string> args)
    {
        var cl = new CommandLine(args, new[] { "--class-name", "--namespace", "--pack-file", "-o" }, new[] { "--embed" });
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
        string output = cl.Require("-o");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        string content = sb.ToString();
        // Leave an identical file untouched so incremental builds and the generator see no change.
        if (!File.Exists(output) || File.ReadAllText(output) != content) Compression.IO.AtomicFile.WriteAllText(output, content);
        return 0;
    }
}
