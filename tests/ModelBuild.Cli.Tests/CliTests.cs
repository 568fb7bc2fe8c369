using System.Text.Json.Nodes;
using ModelBuild.Tests;

namespace ModelBuild.Cli.Tests;

/// <summary>The CLI contract from DESIGN.md, run as a real process on the fixture model.</summary>
public class CliTests : IClassFixture<CliTests.Int4Pack>
{
    /// <summary>One int4 pack of the fixture, shared by the tests of this class.</summary>
    public sealed class Int4Pack : IDisposable
    {
        public RepoPaths.TempDir Dir { get; } = new();
        public string Path => Dir.File("q4.mbpack");
        public ProcessRunner.Result Compress { get; }

        public Int4Pack()
        {
            File.WriteAllText(Dir.File("q4.yaml"), "stages:\n  - quantize: { method: rtn, bits: 4, group_size: 128 }\n");
            Compress = ProcessRunner.Cli("compress", RepoPaths.FixtureModel, "--spec", Dir.File("q4.yaml"), "-o", Path, "--report", Dir.File("r.json"), "--no-cache");
        }

        public void Dispose() => Dir.Dispose();
    }

    private readonly Int4Pack _pack;
    public CliTests(Int4Pack pack) => _pack = pack;

    [Fact]
    public void Compress_writes_a_pack_and_a_report_with_per_block_progress()
    {
        Assert.Equal(0, _pack.Compress.ExitCode);
        Assert.Contains("block 6/6", _pack.Compress.StdOut);
        var report = JsonNode.Parse(File.ReadAllText(_pack.Dir.File("r.json")))!;
        Assert.Equal(42, report["layers"]!.AsArray().Count); // 7 projections x 6 blocks
        long original = new FileInfo(Path.Combine(RepoPaths.FixtureModel, "model.safetensors")).Length;
        Assert.True(new FileInfo(_pack.Path).Length < original / 2, "an int4 pack should be far smaller than the f16 checkpoint");
    }

    [Fact]
    public void Inspect_json_lists_int4_tensors_and_the_spec()
    {
        var r = ProcessRunner.Cli("inspect", _pack.Path, "--json");
        Assert.Equal(0, r.ExitCode);
        var o = JsonNode.Parse(r.StdOut)!;
        Assert.Contains("rtn", o["spec"]!.GetValue<string>());
        var formats = o["tensors"]!.AsArray().Select(t => t!["format"]!.GetValue<string>()).ToList();
        Assert.Equal(42, formats.Count(f => f == "int4 g128"));
    }

    [Fact]
    public void Compression_without_libtorch_is_MB1004_with_a_hint()
    {
        using var empty = new RepoPaths.TempDir();
        File.WriteAllText(empty.File("q4.yaml"), "stages:\n  - quantize: { method: rtn, bits: 4, group_size: 128 }\n");
        var r = ProcessRunner.CliWith(new Dictionary<string, string> { ["MODELBUILD_LIBTORCH_DIR"] = empty.Path },
            "compress", RepoPaths.FixtureModel, "--spec", empty.File("q4.yaml"), "-o", empty.File("x.mbpack"), "--no-cache");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("error MB1004", r.StdErr);
        Assert.Contains("Hint:", r.StdErr);
        Assert.False(File.Exists(empty.File("x.mbpack")));
    }

    [Fact]
    public void Verify_passes_then_fails_after_a_byte_is_changed()
    {
        Assert.Equal(0, ProcessRunner.Cli("verify", _pack.Path).ExitCode);
        string copy = _pack.Dir.File("tampered.mbpack");
        var bytes = File.ReadAllBytes(_pack.Path);
        bytes[bytes.Length / 3] ^= 0x01;
        File.WriteAllBytes(copy, bytes);
        var r = ProcessRunner.Cli("verify", copy);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("error MB1301", r.StdErr);
        Assert.Contains("tensor '", r.StdErr);
    }

    [Fact]
    public void Eval_reports_perplexity_as_json_better_than_uniform()
    {
        var r = ProcessRunner.Cli("eval", _pack.Path, "--text", RepoPaths.FixtureEvalText, "--json", "--max-tokens", "1000");
        Assert.Equal(0, r.ExitCode);
        double ppl = JsonNode.Parse(r.StdOut)!["perplexity"]!.GetValue<double>();
        Assert.InRange(ppl, 1.5, 2048.0 / 4); // a trained model is far better than uniform over 2048 tokens
        var read = ProcessRunner.Cli("eval", _pack.Path, "--text", RepoPaths.FixtureEvalText, "--json", "--max-tokens", "1000", "--no-mmap");
        Assert.Equal(0, read.ExitCode);
        Assert.Equal(ppl, JsonNode.Parse(read.StdOut)!["perplexity"]!.GetValue<double>());
    }

    [Fact]
    public void Generate_with_a_seed_is_reproducible_and_greedy_is_deterministic()
    {
        string[] args = { "generate", _pack.Path, "--prompt", "The meaning of life is", "--max-tokens", "20", "--seed", "7" };
        var a = ProcessRunner.Cli(args);
        var b = ProcessRunner.Cli(args);
        Assert.Equal(0, a.ExitCode);
        Assert.Equal(a.StdOut, b.StdOut);
        // The pack read into memory (--no-mmap) instead of mapped holds the same bytes: the same text.
        var read = ProcessRunner.Cli([.. args, "--no-mmap"]);
        Assert.Equal(0, read.ExitCode);
        Assert.Equal(a.StdOut, read.StdOut);
        Assert.StartsWith("The meaning of life is", a.StdOut);
        Assert.True(a.StdOut.Trim().Length > "The meaning of life is".Length + 10, "it should generate text: " + a.StdOut);
    }

    [Fact]
    public void Every_kernel_path_gives_the_same_greedy_text()
    {
        var texts = new[] { "scalar", "avx2", "avx512", "ilgpu" }
            .Where(k => k != "avx512" || System.Runtime.Intrinsics.X86.Avx512BW.IsSupported)
            .Where(k => k != "avx2" || System.Runtime.Intrinsics.X86.Avx2.IsSupported)
            .Select(k => ProcessRunner.Cli("generate", _pack.Path, "--prompt", "A fool and his money", "--max-tokens", "24", "--temperature", "0", "--kernels", k))
            .ToList();
        Assert.All(texts, r => Assert.Equal(0, r.ExitCode));
        Assert.All(texts, r => Assert.Equal(texts[0].StdOut, r.StdOut));
    }

    [Fact]
    public void A_bad_spec_is_reported_in_canonical_form_with_line_and_column()
    {
        using var dir = new RepoPaths.TempDir();
        File.WriteAllText(dir.File("bad.yaml"), "stages:\n  - quantize: { method: rtn, bitz: 4 }\n");
        var r = ProcessRunner.Cli("compress", RepoPaths.FixtureModel, "--spec", dir.File("bad.yaml"), "-o", dir.File("x.mbpack"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"{dir.File("bad.yaml")}(2,30): error MB1102: unknown key 'bitz'", r.StdErr);
        Assert.False(File.Exists(dir.File("x.mbpack")));
    }

    [Theory]
    [InlineData("MB1001", "compress", "/no/such/model", "--spec", "x.yaml", "-o", "x.mbpack")]
    [InlineData("MB1401", "frobnicate")]
    [InlineData("MB1401", "eval", "x", "--bogus", "1")]
    [InlineData("MB1401", "bench", "x", "--kernels", "neon")]
    [InlineData("MB1401", "generate", "x", "--prompt", "p", "--kernels", "cuda")] // no GPU here
    [InlineData("MB1401", "synth", "--preset", "gpt-5", "-o", "x")]
    [InlineData("MB1401", "synth", "--preset", "tiny", "-o", "x", "--dtype", "int8")]
    public void Bad_invocations_exit_1_with_a_code(string code, params string[] args)
    {
        var r = ProcessRunner.Cli(args);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(code, r.StdErr);
        Assert.DoesNotContain("   at ", r.StdErr); // no stack traces
    }

    [Fact]
    public void An_unsupported_architecture_is_MB1003_and_a_corrupt_checkpoint_MB1002()
    {
        using var dir = new RepoPaths.TempDir();
        foreach (var f in Directory.GetFiles(RepoPaths.FixtureModel)) File.Copy(f, dir.File(Path.GetFileName(f)));
        File.WriteAllText(dir.File("config.json"), File.ReadAllText(dir.File("config.json")).Replace("\"llama\"", "\"gpt2\""));
        var r = ProcessRunner.Cli("eval", dir.Path, "--text", RepoPaths.FixtureEvalText);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("error MB1003", r.StdErr);

        File.Copy(Path.Combine(RepoPaths.FixtureModel, "config.json"), dir.File("config.json"), overwrite: true);
        var bytes = File.ReadAllBytes(dir.File("model.safetensors"));
        File.WriteAllBytes(dir.File("model.safetensors"), bytes[..(bytes.Length / 2)]);
        r = ProcessRunner.Cli("eval", dir.Path, "--text", RepoPaths.FixtureEvalText);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("error MB1002", r.StdErr);
        Assert.Contains("truncated", r.StdErr);
    }
}

public class ErrorReportTests
{
    [Fact]
    public void An_unexpected_exception_is_MB1999_exit_3_with_the_trace_only_when_asked()
    {
        Exception bug;
        try { throw new NullReferenceException("boom"); }
        catch (NullReferenceException e) { bug = e; }
        var (code, message) = Program.Report(bug);
        Assert.Equal(3, code);
        Assert.StartsWith("modelbuild: error MB1999: internal error: NullReferenceException: boom", message);
        Assert.DoesNotContain("   at ", message);
        Assert.Contains("   at ", Program.Report(bug, debug: true).Message);
    }

    [Fact]
    public void Bad_input_exceptions_map_to_their_codes_with_exit_1()
    {
        Assert.Equal((1, "modelbuild: error MB1001: gone"), Program.Report(new FileNotFoundException("gone")));
        Assert.Equal((1, "modelbuild: error MB1003: mamba"), Program.Report(new NotSupportedException("mamba")));
        Assert.Equal((1, "modelbuild: error MB1002: bad"), Program.Report(new InvalidDataException("bad")));
        Assert.Equal(1, Program.Report(new Format.Pack.PackFormatException("p.mbpack", "torn")).ExitCode);
        Assert.Contains("MB1301", Program.Report(new Format.Pack.PackFormatException("p.mbpack", "torn")).Message);
    }
}
