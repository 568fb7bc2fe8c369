using System.Text.Json.Nodes;
using ModelBuild.Runtime.Benchmarking;

namespace ModelBuild.Cli.Commands;

/// <summary>
/// bench: prefill and decode tok/s, weight bytes per token, GB/s and its share of measured memory bandwidth; with
/// --versus, the decode speed of two packs in one process, round by round.
/// </summary>
public static class BenchCommand
{
    public static int Run(IEnumerable<string> args)
    {
        var cl = new CommandLine(args, new[] { "--threads", "--prompt-tokens", "--decode-tokens", "--decode-depth", "--repeats", "--kernels", "--versus", "--rounds" }, new[] { "--json", "--no-mmap" });
        int threads = cl.Int("--threads", Environment.ProcessorCount);
        if (threads < 1) throw CommandLine.Usage("--threads must be at least 1.");
        if (cl.Has("--rounds") && !cl.Has("--versus")) throw CommandLine.Usage("--rounds goes with --versus <other model>.");
        string path = cl.Positional0("model directory or pack");
        var kernels = cl.Kernels();
        bool json = cl.Has("--json");
        if (cl.Get("--versus") is { } other) return Versus(cl, path, other, kernels, threads, json);
        using var model = ModelSource.Open(path, kernels, cl.Has("--no-mmap"));
        int decodeTokens = cl.Int("--decode-tokens", 64), depth = cl.Int("--decode-depth", 0);
        CheckContext(model, depth, decodeTokens);
        var r = DecodeBenchmark.Run(model, threads, cl.Int("--prompt-tokens", 512), decodeTokens, cl.Int("--repeats", 3),
            log: json ? null : Console.Error.WriteLine, decodeDepth: depth);
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
                ["pack_in_process_memory"] = r.PackInProcessMemory,
                // The pack's own read bandwidth (null on a device, or for a pack small enough to read from the caches).
                ["pack_read_gb_per_second"] = r.PackReadGBps,
            }.ToJsonString());
        else
        {
            // The AVX2 integer kernels use AVX-VNNI where the CPU has it (Runtime.Kernels.ByteProducts).
            string vnni = r.Kernels == "avx2" && System.Runtime.Intrinsics.X86.AvxVnni.IsSupported ? " with AVX-VNNI" : "";
            Console.WriteLine($"kernels {r.Kernels}{vnni}, {r.Threads} threads");
            Console.WriteLine($"prefill  {r.PrefillTokensPerSecond,10:F1} tok/s ({r.PromptTokens}-token prompt)");
            Console.WriteLine($"decode   {r.DecodeTokensPerSecond,10:F2} tok/s ({r.DecodeTokens} tokens)");
            Console.WriteLine($"weights  {r.WeightBytesPerToken / 1048576.0,10:F1} MiB read per token");
            string memory = r.Kernels is "ilgpu" or "cuda" ? "device memory" : "memory";
            Console.WriteLine($"achieved {r.AchievedGBps,10:F2} GB/s = {r.BandwidthShare:P1} of {r.MemoryBandwidthGBps:F1} GB/s {memory} read bandwidth measured in this run");
        }
        return 0;
    }

    private static int Versus(CommandLine cl, string path, string otherPath, Runtime.Kernels.KernelPath kernels, int threads, bool json)
    {
        int rounds = cl.Int("--rounds", 20), tokens = cl.Int("--decode-tokens", 32), depth = cl.Int("--decode-depth", 0);
        if (rounds < 1) throw CommandLine.Usage("--rounds must be at least 1.");
        using var first = ModelSource.Open(path, kernels, cl.Has("--no-mmap"));
        using var second = ModelSource.Open(otherPath, kernels, cl.Has("--no-mmap"));
        CheckContext(first, depth, tokens);
        CheckContext(second, depth, tokens);
        var r = PairedDecodeBenchmark.Run(first, second, threads, tokens, rounds, depth, log: json ? null : Console.Error.WriteLine);
        JsonObject Side(string model, long bytes, IReadOnlyList<double> rates, double? packRead) => new()
        {
            ["model"] = model,
            ["weight_bytes_per_token"] = bytes,
            ["pack_read_gb_per_second"] = packRead,
            ["decode_tokens_per_second"] = new JsonArray(rates.Select(v => (JsonNode?)v).ToArray()),
            ["median_tokens_per_second"] = PairedDecodeBenchmark.Median(rates),
        };
        if (json)
            Console.WriteLine(new JsonObject
            {
                ["threads"] = r.Threads,
                ["decode_tokens"] = r.DecodeTokens,
                ["decode_depth"] = r.DecodeDepth,
                ["rounds"] = rounds,
                ["first"] = Side(path, r.FirstBytesPerToken, r.FirstTokensPerSecond, r.FirstPackReadGBps),
                ["second"] = Side(otherPath, r.SecondBytesPerToken, r.SecondTokensPerSecond, r.SecondPackReadGBps),
                ["memory_bandwidth_gb_per_second"] = r.MemoryBandwidthGBps,
                ["slow_pack"] = r.SlowPack,
                ["ratio_median"] = r.MedianRatio,
                ["second_faster_rounds"] = r.SecondFasterRounds,
            }.ToJsonString());
        else
        {
            Console.WriteLine($"decode in one process, {rounds} rounds of {tokens} tokens each{(depth > 0 ? $" after {depth}" : "")}, {threads} threads, alternating which goes first");
            Console.WriteLine($"  {Path.GetFileName(path)}: {r.FirstBytesPerToken / 1048576.0:F1} MiB per token, median {PairedDecodeBenchmark.Median(r.FirstTokensPerSecond):F2} tok/s");
            Console.WriteLine($"  {Path.GetFileName(otherPath)}: {r.SecondBytesPerToken / 1048576.0:F1} MiB per token, median {PairedDecodeBenchmark.Median(r.SecondTokensPerSecond):F2} tok/s");
            Console.WriteLine($"  second ÷ first, round by round: median {r.MedianRatio:F3} ({r.Ratios.Min():F3} to {r.Ratios.Max():F3}); the second faster in {r.SecondFasterRounds} of {rounds} rounds");
            if (r.MemoryBandwidthGBps is { } memory)
            {
                static string Read(double? gbps, double memory) => gbps is { } v ? $"{v:F1} GB/s ({v / memory:P0})" : "not measured (small)";
                Console.WriteLine($"  the packs read {Read(r.FirstPackReadGBps, memory)} and {Read(r.SecondPackReadGBps, memory)} of fresh memory's {memory:F1} GB/s");
                if (r.SlowPack)
                    Console.WriteLine("  a pack reads slower than fresh memory, so the ratio compares their memory as well as their formats; " +
                        "--no-mmap reads both into fresh memory");
            }
        }
        return 0;
    }

    /// <summary>Decode after <paramref name="depth"/> tokens must fit the model's context (and the counts must make sense).</summary>
    private static void CheckContext(Runtime.CausalLanguageModel model, int depth, int tokens)
    {
        if (depth < 0) throw CommandLine.Usage("--decode-depth must be 0 or more.");
        if (tokens < 1) throw CommandLine.Usage("--decode-tokens must be at least 1.");
        int context = model.Config.MaxPositionEmbeddings;
        if ((long)depth + tokens + 1 > context)
            throw CommandLine.Usage($"--decode-depth {depth} and --decode-tokens {tokens} need {(long)depth + tokens + 1} positions; the model has {context}.");
    }
}
