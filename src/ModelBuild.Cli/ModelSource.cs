using ModelBuild.Compression.Ingestion;
using ModelBuild.Compression.Pipeline;
using ModelBuild.Runtime;

namespace ModelBuild.Cli;

/// <summary>Opens either a pack or a checkpoint directory (as an f16 pack cached by content hash).</summary>
public static class ModelSource
{
    public static CausalLanguageModel Open(string path) =>
        File.Exists(path) ? CausalLanguageModel.Load(path) : CheckpointPacks.Open(Checkpoint.Open(path), Console.Error.WriteLine);
}
