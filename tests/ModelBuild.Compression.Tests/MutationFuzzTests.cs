using ModelBuild.Compression.Ingestion;
using ModelBuild.Compression.Pipeline;
using ModelBuild.Compression.Spec;
using ModelBuild.Format.Pack;
using ModelBuild.Fuzzing;
using ModelBuild.Tests;

namespace ModelBuild.Compression.Tests;

/// <summary>
/// Mutation fuzzing of every reader of untrusted input: valid files with random byte flips, truncations,
/// insertions and huge length fields must fail with the reader's own error type, never crash, hang or
/// allocate before checking sizes. Each iteration's seed is in the failure message so a crash reproduces. The
/// coverage-guided fuzzing (SharpFuzz + AFL++) is tools/Fuzzing/fuzz.sh; what it found is replayed here too.
/// </summary>
public class MutationFuzzTests
{
    // 300 per reader in CI; set MODELBUILD_FUZZ_ITERATIONS for longer local runs.
    private static readonly int Iterations = int.TryParse(Environment.GetEnvironmentVariable("MODELBUILD_FUZZ_ITERATIONS"), out int n) ? n : 300;

    private static byte[] Mutate(byte[] original, Random rng)
    {
        var bytes = new List<byte>(original);
        int mutations = 1 + rng.Next(4);
        for (int m = 0; m < mutations && bytes.Count > 0; m++)
        {
            int at = rng.Next(bytes.Count);
            switch (rng.Next(5))
            {
                case 0: bytes[at] ^= (byte)(1 << rng.Next(8)); break;
                case 1: bytes.RemoveRange(at, bytes.Count - at); break; // truncate
                case 2: bytes.InsertRange(at, Enumerable.Range(0, 1 + rng.Next(16)).Select(_ => (byte)rng.Next(256))); break;
                case 3: for (int i = at; i < Math.Min(bytes.Count, at + 8); i++) bytes[i] = 0xFF; break; // huge numbers
                default: bytes[at] = (byte)"0123456789{}[],:\"-e."[rng.Next(20)]; break; // JSON-ish noise
            }
        }
        return bytes.ToArray();
    }

    /// <summary>Iterations that once crashed a reader (salt → iterations), replayed on every run as regression tests.</summary>
    private static readonly Dictionary<int, int[]> FoundCrashes = new()
    {
        [1] = [1746],        // safetensors header with invalid UTF-8 inside a string: InvalidOperationException
        [3] = [17],          // damaged tokenizer JSON inside a pack's manifest: FormatException, not a pack error
        [5] = [9],           // merges the tokenizer library rejects: InvalidOperationException
        [6] = [48, 2601],    // YamlDotNet scanner/loader: InvalidOperationException, ArgumentException
    };

    private static void Fuzz(byte[] seed, int salt, string targetName, Func<byte[], byte[]>? embed = null)
    {
        var target = FuzzTargets.Find(targetName);
        foreach (int i in Enumerable.Range(0, Iterations).Concat(FoundCrashes.GetValueOrDefault(salt, [])))
        {
            var rng = new Random(salt * 100_000 + i);
            var input = Mutate(seed, rng);
            if (!target.TryRead(embed is null ? input : embed(input), out var crash))
                Assert.Fail($"iteration {i} (seed {salt * 100_000 + i}): {crash!.GetType().Name}: {crash.Message}\n{crash.StackTrace}");
        }
    }

    [Fact]
    public void Safetensors_reader()
    {
        using var dir = new RepoPaths.TempDir();
        SafetensorsWriter.Write(dir.File("seed.safetensors"),
            [("a", [2, 3], [1, 2, 3, 4, 5, 6]), ("b", [4], [0.5f, 1, 2, 3])], TensorDType.F16);
        Fuzz(File.ReadAllBytes(dir.File("seed.safetensors")), 1, "safetensors");
    }

    /// <summary>The bytes of a fixture pack compressed with <paramref name="spec"/> (its text lands in the manifest, so seeds depend on it).</summary>
    private static byte[] SeedPack(RepoPaths.TempDir dir, string spec)
    {
        new Compressor().Compress(Checkpoint.Open(RepoPaths.FixtureModel), SpecParser.Parse(spec, dir.File("s.yaml")), dir.File("seed.mbpack"));
        return File.ReadAllBytes(dir.File("seed.mbpack"));
    }

    [Fact]
    public void Pack_reader_and_runtime_loader()
    {
        using var dir = new RepoPaths.TempDir();
        Fuzz(SeedPack(dir, "stages:\n  - quantize: { method: rtn, bits: 4, group_size: 128 }\n"), 2, "pack");
    }

    [Fact]
    public void Pack_reader_without_checksums_still_validates_structure()
    {
        // Checksums catch nearly every mutation; without them, the structural checks alone must hold.
        using var dir = new RepoPaths.TempDir();
        var seed = SeedPack(dir, "stages:\n  - quantize: { method: rtn, bits: 4, group_size: 128, outliers: 0 }\n");
        long manifestOffset;
        using (var pack = PackReader.Open(dir.File("seed.mbpack"))) manifestOffset = pack.Header.ManifestOffset;
        // Mutate only the manifest (JSON), where the structure lives, keeping the header consistent with its length.
        Fuzz(seed[(int)manifestOffset..], 3, "pack-unverified", mutated =>
        {
            var bytes = seed[..(int)manifestOffset].Concat(mutated).ToArray();
            System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(40), mutated.Length);
            return bytes;
        });
    }

    [Fact]
    public void Config_json() => Fuzz(File.ReadAllBytes(Path.Combine(RepoPaths.FixtureModel, "config.json")), 4, "config");

    [Fact]
    public void Tokenizer_json() => Fuzz(File.ReadAllBytes(Path.Combine(RepoPaths.FixtureModel, "tokenizer.json")), 5, "tokenizer");

    [Fact]
    public void Spec_yaml() => Fuzz(System.Text.Encoding.UTF8.GetBytes(
        "calibration: { text: calib.txt, samples: 16, sequence_length: 128, seed: 0 }\n" +
        "stages:\n  - sparsify: { method: sparsegpt, pattern: \"2:4\" }\n  - quantize: { method: gptq, bits: 4, group_size: 128, act_order: true }\n" +
        "gates: { eval_text: eval.txt, max_perplexity_increase: 0.1 }\n"), 6, "spec");

    public static TheoryData<string> Targets => [.. FuzzTargets.All.Select(t => t.Name)];

    /// <summary>Inputs AFL++ found crashing a reader (tools/Fuzzing/fuzz.sh), kept as regressions.</summary>
    [Theory]
    [MemberData(nameof(Targets))]
    public void Crashes_found_by_coverage_guided_fuzzing_are_rejected_properly(string targetName)
    {
        var target = FuzzTargets.Find(targetName);
        string dir = Path.Combine(RepoPaths.Root, "tools", "Fuzzing", "regressions", targetName);
        foreach (string file in Directory.Exists(dir) ? Directory.GetFiles(dir) : [])
            Assert.True(target.TryRead(File.ReadAllBytes(file), out var crash), $"{file}: {crash}");
    }
}
