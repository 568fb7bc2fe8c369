using System.IO.Hashing;
using ModelBuild.Compression.Ingestion;
using ModelBuild.Compression.Pipeline;
using ModelBuild.Compression.Spec;
using ModelBuild.Tests;

namespace ModelBuild.Compression.Tests;

public class ReproducibilityTests
{
    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }

    [Fact]
    public void The_same_inputs_in_different_directories_give_a_bit_identical_pack()
    {
        // Model, spec and calibration text copied to two unrelated places; GPTQ (calibration, seeded windows) compresses both.
        var hashes = new List<string>();
        var dirs = new[] { new RepoPaths.TempDir(), new RepoPaths.TempDir() };
        try
        {
            foreach (var dir in dirs)
            {
                string model = Path.Combine(dir.Path, "some", "where", "model");
                CopyDirectory(RepoPaths.FixtureModel, model);
                File.WriteAllText(dir.File("spec.yaml"),
                    "calibration: { text: some/where/model/calib.txt, samples: 8, sequence_length: 64, seed: 3 }\n" +
                    "stages:\n  - quantize: { method: gptq, bits: 4, group_size: 128 }\n");
                new Compressor().Compress(Checkpoint.Open(model), SpecParser.ParseFile(dir.File("spec.yaml")), dir.File("out.mbpack"));
                hashes.Add(Convert.ToHexString(XxHash3.Hash(File.ReadAllBytes(dir.File("out.mbpack")))));
            }
        }
        finally
        {
            foreach (var dir in dirs) dir.Dispose();
        }
        Assert.Equal(hashes[0], hashes[1]);
    }
}
