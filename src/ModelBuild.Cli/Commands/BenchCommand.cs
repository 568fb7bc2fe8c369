using System.Text.Json.Nodes;
using ModelBuild.Runtime.Benchmarking;

namespace ModelBuild.Cli.Commands;

/// <summary>bench: prefill and decode tok/s, weight bytes per token, GB/s and its share of measured memory bandwidth.</summary>
public static class BenchCommand
{
    public static int Run(IEnumerable<string> args)
    {
        var cl = new CommandLine(args, new[] { "--threads", "--prompt-tokens", "--decode-tokens", "--decode-depth", "--repeats", "--kernels" }, new[] { "--json" });
        int threads = cl.Int("--threads", Environment.ProcessorCount);
        if (threads < 1) throw CommandLine.Usage("--threads must be at least 1.");
        using var model = ModelSource.Open(cl.Positional0("model directory or pack"), cl.Kernels());
        bool json = cl.Has("--json");
        var r = DecodeBenchmark.Run(model, threads, cl.Int("--prompt-tokens", 512), cl.Int("--decode-tokens", 64), cl.Int("--repeats", 3),
            log: json ? null : Console.Error.WriteLine, decodeDepth: cl.Int("--decode-depth", 0));
        if (json)
            Console.WriteLine(new JsonObject
            {
                ["kernels"] = r.Kernels,
                ["threads"] = r.Threads,
                ["prompt_tokens"] = r.PromptTokens,
                ["decode_tokens"] = r.DecodeTokens,
                ["decode_depth"] = r.DecodeDepth,
                ["prefill_tokens_per_second"] = r.PrefillTokensPerSecond,
                ["decode_tokens_per_second"] = r.DecodeTokensPerSecond,
                ["weight_bytes_per_token"] = r.WeightBytesPerToken,
                ["achieved_gb_per_second"] = r.AchievedGBps,
                ["memory_bandwidth_gb_per_second"] = r.MemoryBandwidthGBps,
                ["bandwidth_share"] = r.BandwidthShare,
            }.ToJsonString());
        else
        {
            Console.WriteLine($"kernels {r.Kernels}, {r.Threads} threads");
            Console.WriteLine($"prefill  {r.PrefillTokensPerSecond,10:F1} tok/s ({r.PromptTokens}-token prompt)");
            Console.WriteLine($"decode   {r.DecodeTokensPerSecond,10:F2} tok/s ({r.DecodeTokens} tokens)");
            Console.WriteLine($"weights  {r.WeightBytesPerToken / 1048576.0,10:F1} MiB read per token");
            Console.WriteLine($"achieved {r.AchievedGBps,10:F2} GB/s = {r.BandwidthShare:P1} of {r.MemoryBandwidthGBps:F1} GB/s memory read bandwidth measured in this run");
        }
        return 0;
    }
}
