using ModelBuild.Runtime;

namespace ModelBuild.Cli.Commands;

public static class GenerateCommand
{
    public static int Run(IEnumerable<string> args)
    {
        var cl = new CommandLine(args, new[] { "--prompt", "--max-tokens", "--seed", "--temperature", "--top-k", "--top-p", "--kernels" }, new[] { "--no-mmap" });
        using var model = ModelSource.Open(cl.Positional0("model directory or pack"), cl.Kernels(), cl.Has("--no-mmap"));
        var defaults = new GenerationOptions();
        var options = new GenerationOptions
        {
            MaxTokens = cl.Int("--max-tokens", defaults.MaxTokens),
            Seed = cl.Has("--seed") ? cl.Int("--seed", 0) : null,
            Temperature = cl.Float("--temperature", defaults.Temperature),
            TopK = cl.Int("--top-k", defaults.TopK),
            TopP = cl.Float("--top-p", defaults.TopP),
        };
        string prompt = cl.Require("--prompt");
        Console.Write(prompt);
        foreach (var piece in model.GenerateStreaming(prompt, options)) Console.Write(piece);
        Console.WriteLine();
        return 0;
    }
}
