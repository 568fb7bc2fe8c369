using System.Text.Json.Nodes;
using ModelBuild.Compression.Ingestion;
using ModelBuild.Compression.IO;
using ModelBuild.Compression.Spec;

namespace ModelBuild.Compression.Pipeline;

/// <summary>
/// Compressed packs shared by every build on the machine, addressed by the content of what made them: the
/// checkpoint's files, the spec, the files the spec names, and the tool. One process compresses a key at a
/// time (an OS file lock, released even when the process is killed); the others wait and then copy. An entry
/// counts only once its "complete" marker exists, written last, so a killed compression leaves nothing usable
/// behind and the next build simply compresses again.
/// </summary>
public sealed class CompressionCache(string root, Action<string>? log = null)
{
    public sealed record Outcome(string Key, bool Reused, long PackBytes, JsonObject Report);

    public static string Key(Checkpoint checkpoint, CompressionSpec spec)
    {
        // The checkpoint's own key (its files and the tool) is the one the f16 pack cache uses.
        var parts = new List<string> { "checkpoint=" + CheckpointPacks.ContentKey(checkpoint), "spec=" + SpecParser.Hash(spec.Text) };
        if (spec.Calibration is { Text: not null } c)
            parts.Add("calibration=" + Compressor.HashFile(SpecFiles.Resolve(c.Text, spec.SourcePath, c.Location, "calibration.text", "")));
        if (spec.Gates is { EvalText: not null } g)
            parts.Add("gates=" + Compressor.HashFile(SpecFiles.Resolve(g.EvalText, spec.SourcePath, g.Location, "gates.eval_text", "")));
        return CheckpointPacks.Hash(string.Join("|", parts));
    }

    /// <summary>Copies the cached pack for these inputs to <paramref name="output"/>, compressing it first if no build has.</summary>
    public Outcome GetOrCompress(Checkpoint checkpoint, CompressionSpec spec, string output, Func<Compressor> compressor)
    {
        string key = Key(checkpoint, spec);
        string entry = Path.Combine(root, "packs", key);
        string pack = Path.Combine(entry, "model.mbpack"), report = Path.Combine(entry, "report.json"), complete = Path.Combine(entry, "complete");
        bool reused = true;
        if (!File.Exists(complete))
        {
            Directory.CreateDirectory(entry);
            using var held = Lock(entry + ".lock");
            if (!File.Exists(complete))
            {
                reused = false;
                var result = compressor().Compress(checkpoint, spec, pack);
                AtomicFile.WriteAllText(report, result.Report.ToJsonString());
                AtomicFile.WriteAllText(complete, key);
            }
        }
        if (reused) log?.Invoke($"reusing the compression cached at {entry} (same model, spec and tool)");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        AtomicFile.Copy(pack, output);
        return new Outcome(key, reused, new FileInfo(output).Length, JsonNode.Parse(File.ReadAllText(report))!.AsObject());
    }

    /// <summary>An exclusive lock between processes: .NET maps FileShare.None to an advisory flock on Unix and a share lock on Windows.</summary>
    private FileStream Lock(string path)
    {
        bool announced = false;
        while (true)
        {
            try { return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
            catch (IOException)
            {
                if (!announced) log?.Invoke($"waiting for another build that is compressing the same inputs (lock {path})");
                announced = true;
                Thread.Sleep(200);
            }
        }
    }
}
