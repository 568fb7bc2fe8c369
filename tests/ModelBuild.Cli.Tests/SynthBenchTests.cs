using System.Text.Json.Nodes;
using ModelBuild.Tests;

namespace ModelBuild.Cli.Tests;

/// <summary>synth writes a loadable checkpoint of a preset's shape; bench measures it against memory bandwidth.</summary>
public class SynthBenchTests
{
    [Fact]
    public void Synth_then_compress_then_bench_reports_speed_and_bandwidth_share()
    {
        using var dir = new RepoPaths.TempDir();
        string model = dir.File("tiny");
        var synth = ProcessRunner.Cli("synth", "--preset", "tiny", "-o", model);
        Assert.Equal(0, synth.ExitCode);
        Assert.Contains("random weights", synth.StdOut);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(model, "config.json")))!;
        Assert.Equal(256, config["hidden_size"]!.GetValue<int>());
        Assert.True(File.Exists(Path.Combine(model, "model.safetensors.index.json")));
        Assert.Empty(Directory.GetDirectories(dir.Path, "tiny.partial-*"));

        // Writing over a non-empty directory is refused rather than mixing two checkpoints.
        var again = ProcessRunner.Cli("synth", "--preset", "tiny", "-o", model);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("not empty", again.StdErr);

        File.WriteAllText(dir.File("q4.yaml"), "stages:\n  - quantize: { method: rtn, bits: 4, group_size: 128 }\n");
        Assert.Equal(0, ProcessRunner.Cli("compress", model, "--spec", dir.File("q4.yaml"), "-o", dir.File("tiny.mbpack")).ExitCode);
        var bench = ProcessRunner.Cli("bench", dir.File("tiny.mbpack"), "--json", "--threads", "2", "--prompt-tokens", "64", "--decode-tokens", "16", "--decode-depth", "100", "--repeats", "1");
        Assert.Equal(0, bench.ExitCode);
        var r = JsonNode.Parse(bench.StdOut)!;
        Assert.True(r["decode_tokens_per_second"]!.GetValue<double>() > 0);
        Assert.True(r["prefill_tokens_per_second"]!.GetValue<double>() > 0);
        Assert.Equal(64, r["prompt_tokens"]!.GetValue<int>());
        Assert.Equal(100, r["decode_depth"]!.GetValue<int>());
        // Bytes per token: 2 layers of int4 g128 projections plus an f16 head and one embedding row.
        long h = 256, kv = 128, f = 768, vocab = 512;
        long projections = 2 * (2 * h * h + 2 * h * kv + 3 * h * f);
        long expected = projections / 2 + projections / 128 * 3 + vocab * h * 2 + h * 2;
        Assert.Equal(expected, r["weight_bytes_per_token"]!.GetValue<long>());
        // The JSON carries full precision (a tiny model's GB/s is ~0.1, so rounding would lose the ratio), and the
        // figures must be consistent: achieved = bytes × tok/s, share = achieved ÷ bandwidth.
        double tokensPerSecond = r["decode_tokens_per_second"]!.GetValue<double>();
        double achieved = r["achieved_gb_per_second"]!.GetValue<double>();
        double share = r["bandwidth_share"]!.GetValue<double>();
        Assert.Equal(expected * tokensPerSecond / 1e9, achieved, achieved * 1e-9);
        Assert.Equal(achieved / r["memory_bandwidth_gb_per_second"]!.GetValue<double>(), share, share * 1e-9);
        // A pack this small would be read from the caches, so its own read bandwidth is not measured; it is mapped.
        Assert.False(r["pack_in_process_memory"]!.GetValue<bool>());
        Assert.True(r.AsObject().ContainsKey("pack_read_gb_per_second"));
        Assert.Null(r["pack_read_gb_per_second"]);

        // Without --json the log says how the pack is held: mapped from its file, or read into memory with --no-mmap.
        var mapped = ProcessRunner.Cli("bench", dir.File("tiny.mbpack"), "--prompt-tokens", "16", "--decode-tokens", "4", "--repeats", "1");
        Assert.Equal(0, mapped.ExitCode);
        Assert.Contains("pack mapped from its file", mapped.StdErr);
        var read = ProcessRunner.Cli("bench", dir.File("tiny.mbpack"), "--no-mmap", "--prompt-tokens", "16", "--decode-tokens", "4", "--repeats", "1");
        Assert.Equal(0, read.ExitCode);
        Assert.Contains("pack read into process memory (--no-mmap)", read.StdErr);
        Assert.Contains("decode", read.StdOut);
        var readJson = ProcessRunner.Cli("bench", dir.File("tiny.mbpack"), "--no-mmap", "--json", "--prompt-tokens", "16", "--decode-tokens", "4", "--repeats", "1");
        Assert.Equal(0, readJson.ExitCode);
        Assert.True(JsonNode.Parse(readJson.StdOut)!["pack_in_process_memory"]!.GetValue<bool>());

        // On an ILGPU device (the CPU accelerator here) the bytes are the device copy's, whose scales and zero points
        // are f32 (the head stays f16), and the share is of the device's memory, measured by a probe of its own.
        var device = ProcessRunner.Cli("bench", dir.File("tiny.mbpack"), "--json", "--kernels", "ilgpu", "--prompt-tokens", "16", "--decode-tokens", "4", "--repeats", "1");
        Assert.Equal(0, device.ExitCode);
        var d = JsonNode.Parse(device.StdOut)!;
        Assert.Equal("ilgpu", d["kernels"]!.GetValue<string>());
        Assert.Equal(projections / 2 + projections / 128 * 8 + vocab * h * 2 + h * 2, d["weight_bytes_per_token"]!.GetValue<long>());
        double deviceBandwidth = d["memory_bandwidth_gb_per_second"]!.GetValue<double>();
        Assert.True(deviceBandwidth > 0 && double.IsFinite(deviceBandwidth));
        Assert.Equal(d["achieved_gb_per_second"]!.GetValue<double>() / deviceBandwidth, d["bandwidth_share"]!.GetValue<double>(), 1e-9);
    }

    [Fact]
    public void Bench_versus_decodes_two_packs_in_turn_and_reports_the_ratio_round_by_round()
    {
        using var dir = new RepoPaths.TempDir();
        string model = dir.File("tiny");
        Assert.Equal(0, ProcessRunner.Cli("synth", "--preset", "tiny", "-o", model).ExitCode);
        File.WriteAllText(dir.File("q4.yaml"), "stages:\n  - quantize: { method: rtn, bits: 4, group_size: 128 }\n");
        File.WriteAllText(dir.File("s24.yaml"), "stages:\n  - sparsify: { method: magnitude, pattern: \"2:4\" }\n  - quantize: { method: rtn, bits: 4, group_size: 128 }\n");
        Assert.Equal(0, ProcessRunner.Cli("compress", model, "--spec", dir.File("q4.yaml"), "-o", dir.File("q4.mbpack")).ExitCode);
        Assert.Equal(0, ProcessRunner.Cli("compress", model, "--spec", dir.File("s24.yaml"), "-o", dir.File("s24.mbpack")).ExitCode);

        var bench = ProcessRunner.Cli("bench", dir.File("q4.mbpack"), "--versus", dir.File("s24.mbpack"), "--json", "--threads", "2", "--rounds", "4", "--decode-tokens", "8");
        Assert.Equal(0, bench.ExitCode);
        var r = JsonNode.Parse(bench.StdOut)!;
        Assert.Equal(4, r["rounds"]!.GetValue<int>());
        var first = r["first"]!["decode_tokens_per_second"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        var second = r["second"]!["decode_tokens_per_second"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        Assert.Equal(4, first.Length);
        Assert.Equal(4, second.Length);
        Assert.All(first.Concat(second), v => Assert.True(v > 0));
        // The ratio is taken round by round (not of the two medians), and the count of rounds the second won agrees with it.
        var ratios = second.Zip(first, (b, a) => b / a).Order().ToArray();
        Assert.Equal((ratios[1] + ratios[2]) / 2, r["ratio_median"]!.GetValue<double>(), 1e-12);
        Assert.Equal(ratios.Count(x => x > 1), r["second_faster_rounds"]!.GetValue<int>());
        // Packs this small would be read from the caches: neither pack's memory is measured, and none is flagged.
        Assert.Null(r["first"]!["pack_read_gb_per_second"]);
        Assert.Null(r["memory_bandwidth_gb_per_second"]);
        Assert.False(r["slow_pack"]!.GetValue<bool>());
        // 2:4 stores half the codes plus their positions: fewer bytes per token than the dense pack.
        Assert.True(r["second"]!["weight_bytes_per_token"]!.GetValue<long>() < r["first"]!["weight_bytes_per_token"]!.GetValue<long>());

        // A depth beyond the model's context is bad input (exit 1 with the numbers), not an internal error.
        foreach (var tooDeep in new[] { new[] { "bench", dir.File("q4.mbpack"), "--decode-depth", "100000" },
                                        new[] { "bench", dir.File("q4.mbpack"), "--versus", dir.File("s24.mbpack"), "--decode-depth", "100000" } })
        {
            var deep = ProcessRunner.Cli(tooDeep);
            Assert.Equal(1, deep.ExitCode);
            Assert.Contains("--decode-depth 100000 and --decode-tokens", deep.StdErr);
            Assert.Contains("positions; the model has", deep.StdErr);
        }

        var refused = ProcessRunner.Cli("bench", dir.File("q4.mbpack"), "--rounds", "4");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("--versus", refused.StdErr);
        var missing = ProcessRunner.Cli("bench", dir.File("q4.mbpack"), "--versus", dir.File("absent.mbpack"));
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("no pack file or model directory at", missing.StdErr);
        Assert.Contains("absent.mbpack", missing.StdErr);
    }
}
