using System.IO.Hashing;
using System.Text;
using ModelBuild.Compression.Ingestion;
using ModelBuild.Runtime;

namespace ModelBuild.Compression.Pipeline;

/// <summary>
/// The uncompressed model as an f16 pack, made once per checkpoint content (and tool version) in the cache,
/// so the runtime can evaluate or run a plain checkpoint directory.
/// </summary>
public static class CheckpointPacks
{
    public static string ContentKey(Checkpoint checkpoint) =>
        Hash(string.Join("|", checkpoint.InputFiles.Select(Compressor.HashFile)) + "|" + Compressor.ToolIdentity);

    public static string Hash(string text) => Convert.ToHexString(XxHash3.Hash(Encoding.UTF8.GetBytes(text))).ToLowerInvariant();

    public static string GetOrCreate(Checkpoint checkpoint, Action<string>? log = null)
    {
        string cached = Path.Combine(CacheDirectory.Root, "checkpoints", ContentKey(checkpoint) + ".mbpack");
        if (!File.Exists(cached))
        {
            log?.Invoke($"converting {checkpoint.Directory} to an f16 pack (cached at {cached})");
            new Compressor().Compress(checkpoint, null, cached);
        }
        return cached;
    }

    public static CausalLanguageModel Open(Checkpoint checkpoint, Action<string>? log = null) => CausalLanguageModel.Load(GetOrCreate(checkpoint, log));
}
