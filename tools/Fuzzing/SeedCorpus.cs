using ModelBuild.Compression.Ingestion;
using ModelBuild.Compression.Pipeline;
using ModelBuild.Compression.Spec;
using ModelBuild.Compression.Synthesis;

namespace ModelBuild.Fuzzing;

/// <summary>
/// Small valid inputs for every target, so the fuzzer starts from deep inside each format (AFL++ works best on
/// inputs of a few KB: the pack seed is a one-block, 32-wide model).
/// </summary>
public static class SeedCorpus
{
    public static void Write(string root)
    {
        string scratch = Path.Combine(Path.GetTempPath(), "modelbuild-seeds-" + Environment.ProcessId);
        try
        {
            Directory.CreateDirectory(scratch);
            var preset = new SynthPreset("fuzz", HiddenSize: 32, IntermediateSize: 64, Layers: 1, Heads: 4, KeyValueHeads: 2, VocabSize: 272,
                MaxPositions: 64, RopeTheta: 10000, TiedEmbeddings: true);
            SyntheticCheckpoint.Write(preset, scratch, seed: 1);
            foreach (string shard in Directory.GetFiles(scratch, "*.safetensors"))
                Save(root, "safetensors", Path.GetFileName(shard), File.ReadAllBytes(shard));
            Save(root, "config", "config.json", File.ReadAllBytes(Path.Combine(scratch, "config.json")));
            Save(root, "tokenizer", "tokenizer.json", File.ReadAllBytes(Path.Combine(scratch, "tokenizer.json")));

            const string spec = "stages:\n  - quantize: { method: rtn, bits: 4, group_size: 32 }\n";
            string pack = Path.Combine(scratch, "seed.mbpack");
            new Compressor().Compress(Checkpoint.Open(scratch), SpecParser.Parse(spec, Path.Combine(scratch, "s.yaml")), pack);
            Save(root, "pack", "int4.mbpack", File.ReadAllBytes(pack));
            Save(root, "pack-unverified", "int4.mbpack", File.ReadAllBytes(pack));

            Save(root, "spec", "rtn.yaml", System.Text.Encoding.UTF8.GetBytes(spec));
            Save(root, "spec", "full.yaml", System.Text.Encoding.UTF8.GetBytes(
                "calibration: { text: calib.txt, samples: 16, sequence_length: 128, seed: 0 }\n" +
                "stages:\n  - sparsify: { method: sparsegpt, pattern: \"2:4\", targets: [mlp] }\n" +
                "  - quantize: { method: gptq, bits: 4, group_size: 128, act_order: true, outliers: 0.01, ignore: [lm_head] }\n" +
                "gates: { eval_text: eval.txt, max_perplexity_increase: 0.1 }\n"));
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    private static void Save(string root, string target, string name, byte[] bytes)
    {
        string dir = Path.Combine(root, target);
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, name), bytes);
        Console.WriteLine($"{target}/{name}: {bytes.Length} bytes");
    }
}
