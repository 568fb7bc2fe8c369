using System.Text.Json.Nodes;
using ModelBuild.Runtime;

namespace ModelBuild.Cli.Commands;

public static class EvalCommand
{
    public static int Run(IEnumerable<string> args)
    {
        var cl = new CommandLine(args, new[] { "--text", "--window", "--max-tokens", "--kernels" }, new[] { "--json", "--no-mmap" });
        string source = cl.Positional0("model directory or pack");
        string textPath = cl.Require("--text");
        if (!File.Exists(textPath)) throw CommandLine.Usage($"evaluation text not found: {textPath}");
        using var model = ModelSource.Open(source, cl.Kernels(), cl.Has("--no-mmap"));
        var ids = model.Tokenize(File.ReadAllText(textPath));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var result = Evaluation.Perplexity(model, ids, cl.Int("--window", 256), cl.Int("--max-tokens", int.MaxValue));
        if (cl.Has("--json"))
            Console.WriteLine(new JsonObject { ["perplexity"] = result.Perplexity, ["tokens"] = result.Tokens, ["seconds"] = Math.Round(sw.Elapsed.TotalSeconds, 2) }.ToJsonString());
        else
            Console.WriteLine($"perplexity {result.Perplexity:F3} over {result.Tokens} tokens of {textPath} ({sw.Elapsed.TotalSeconds:F1}s)");
        return 0;
    }
}
