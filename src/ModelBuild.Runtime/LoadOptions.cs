using ModelBuild.Runtime.Kernels;

namespace ModelBuild.Runtime;

/// <summary>How to open a pack: where it is, where its products run, and whether to verify checksums first.</summary>
public sealed record LoadOptions
{
    /// <summary>The pack file; null means the generated class's pack beside the application.</summary>
    public string? Path { get; init; }
    /// <summary>Auto: CUDA when a GPU is present, else the best CPU kernels; or a specific path (unsupported ones throw).</summary>
    public KernelPath Kernels { get; init; } = KernelPath.Auto;
    /// <summary>Check every blob's checksum on load (≈30 GB/s; a tampered pack fails naming the tensor).</summary>
    public bool VerifyChecksums { get; init; } = true;
}
