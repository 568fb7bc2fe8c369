using ModelBuild.Compression.Ingestion;
using ModelBuild.Compression.Pipeline;
using ModelBuild.Compression.Spec;

namespace ModelBuild.Cli.Commands;

public static class CompressCommand
{
    public static int Run(IEnumerable<string> args)
    {
        var cl = new CommandLine(args, new[] { "--spec", "-o", "--output", "--report" }, Array.Empty<string>());
        string modelDir = cl.Positional0("model directory");
        string output = cl.Get("-o") ?? cl.Require("--output");
        var checkpoint = Checkpoint.Open(modelDir);
        var spec = SpecParser.ParseFile(cl.Require("--spec"));
        Console.WriteLine($"compressing {modelDir} ({checkpoint.Config.ModelType}, {checkpoint.Config.NumHiddenLayers} layers) with {string.Join(" -> ", spec.Stages.Select(Compressor.Describe))}");
        var result = new Compressor(Console.WriteLine).Compress(checkpoint, spec, output);
        if (cl.Get("--report") is { } reportPath)
            Compression.Reporting.CompressionReport.Write(result.Report, reportPath); // .json plus .md and .svg beside it
        if (result.Report["gate"] is { } gate)
            Console.WriteLine($"gate passed: perplexity {gate["original_perplexity"]} -> {gate["compressed_perplexity"]}");
        Console.WriteLine($"wrote {output} ({result.PackBytes / 1024.0 / 1024.0:F2} MiB) in {result.Report["compress_seconds"]}s");
        return 0;
    }
}
