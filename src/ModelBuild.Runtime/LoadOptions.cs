using ModelBuild.Runtime.Kernels;

namespace ModelBuild.Runtime;

/// <summary>How to open a pack: where it is, where its products run, whether to verify checksums first, and whether to map it.</summary>
public sealed record LoadOptions
{
    /// <summary>The pack file; null means the generated class's pack beside the application.</summary>
    public string? Path { get; init; }
    /// <summary>Auto: CUDA when a GPU is present, else the best CPU kernels; or a specific path (unsupported ones throw).</summary>
    public KernelPath Kernels { get; init; } = KernelPath.Auto;
    /// <summary>Check every blob's checksum on load (≈30 GB/s; a tampered pack fails naming the tensor).</summary>
    public bool VerifyChecksums { get; init; } = true;
    /// <summary>
    /// Read the pack file into fresh process memory (on 2 MB pages) instead of mapping it, as llama.cpp's --no-mmap.
    /// Worth it where the mapped pack reads slower than fresh memory (`modelbuild bench` says so): on a VM a pack cached
    /// for hours decoded 1.23× slower mapped than read. Costs one read of the file and pack-sized private memory.
    /// An embedded pack is copied out of the mapped assembly image too.
    /// </summary>
    public bool ReadIntoMemory { get; init; }
}
