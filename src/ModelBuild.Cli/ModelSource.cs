using ModelBuild.Compression.Ingestion;
using ModelBuild.Compression.Pipeline;
using ModelBuild.Runtime;

namespace ModelBuild.Cli;

/// <summary>Opens either a pack or a checkpoint directory; a checkpoint becomes an f16 pack cached by content hash.</summary>
public static class ModelSource
{
    public static CausalLanguageModel Open(string path)
    {
        if (File.Exists(path)) return CausalLanguageModel.Load(path);
        var checkpoint = Checkpoint.Open(path);
        string key = string.Join("|", checkpoint.InputFiles.Select(Compressor.HashFile)) + "|" + Compressor.ToolVersion;
        string hash = Convert.ToHexString(System.IO.Hashing.XxHash3.Hash(System.Text.Encoding.UTF8.GetBytes(key))).ToLowerInvariant();
        string cached = Path.Combine(CacheDirectory.Root, "checkpoints", hash + ".mbpack");
        if (!File.Exists(cached))
        {
            Console.Error.WriteLine($"converting {path} to an f16 pack (cached at {cached})");
            new Compressor().Compress(checkpoint, null, cached);
        }
        return CausalLanguageModel.Load(cached);
    }
}
