using ModelBuild.Compression.Ingestion;
using ModelBuild.Compression.Pipeline;
using ModelBuild.Runtime;
using ModelBuild.Runtime.Kernels;

namespace ModelBuild.Cli;

/// <summary>Opens either a pack or a checkpoint directory (as an f16 pack cached by content hash).</summary>
public static class ModelSource
{
    /// <summary>With <paramref name="readIntoMemory"/> (--no-mmap) the pack is read into process memory rather than mapped (<see cref="LoadOptions.ReadIntoMemory"/>).</summary>
    public static CausalLanguageModel Open(string path, KernelPath kernels = KernelPath.Auto, bool readIntoMemory = false)
    {
        if (!File.Exists(path) && !Directory.Exists(path))
            throw new FileNotFoundException($"no pack file or model directory at {path}", path);
        return CausalLanguageModel.Load(File.Exists(path) ? path : CheckpointPacks.GetOrCreate(Checkpoint.Open(path), Console.Error.WriteLine), kernelPath: kernels,
            readIntoMemory: readIntoMemory);
    }
}
