using ModelBuild.Compression.Ingestion;
using ModelBuild.Compression.Pipeline;
using ModelBuild.Compression.Spec;

namespace ModelBuild.Cli.Commands;

public static class CompressCommand
{
    public static int Run(IEnumerable<string> args)
    {
        var cl = new CommandLine(args, new[] { "--spec", "-o", "--output", "--report" }, new[] { "--no-cache" });
        string modelDir = cl.Positional0("model directory");
        string output = cl.Get("-o") ?? cl.Require("--output");
        var checkpoint = Checkpoint.Open(modelDir);
        var spec = SpecParser.ParseFile(cl.Require("--spec"));
        Console.WriteLine($"compressing {modelDir} ({checkpoint.Config.ModelType}, {checkpoint.Config.NumHiddenLayers} layers) with {string.Join(" -> ", spec.Stages.Select(Compressor.Describe))}");
        System.Text.Json.Nodes.JsonObject report;
        long packBytes;
        if (cl.Has("--no-cache"))
        {
            var result = new Compressor(Console.WriteLine).Compress(checkpoint, spec, output);
            (report, packBytes) = (result.Report, result.PackBytes);
        }
        else
        {
            // Builds of several projects (or branches) that compress the same inputs share one compression.
            var outcome = new CompressionCache(CacheDirectory.Root, Console.WriteLine).GetOrCompress(checkpoint, spec, output, () => new Compressor(Console.WriteLine));
            (report, packBytes) = (outcome.Report, outcome.PackBytes);
        }
        if (cl.Get("--report") is { } reportPath)
            Compression.Reporting.CompressionReport.Write(report, reportPath); // .json plus .md and .svg beside it
        if (report["gate"] is { } gate)
            Console.WriteLine($"gate passed: perplexity {gate["original_perplexity"]} -> {gate["compressed_perplexity"]}");
        Console.WriteLine($"wrote {output} ({packBytes / 1024.0 / 1024.0:F2} MiB; compression took {report["compress_seconds"]}s)");
        return 0;
    }
}
