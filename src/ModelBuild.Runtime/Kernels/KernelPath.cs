using System.Runtime.Intrinsics.X86;

namespace ModelBuild.Runtime.Kernels;

/// <summary>
/// Which instruction set the CPU kernels use. <see cref="Scalar"/> is the plain reference (full-precision
/// activations); the SIMD paths quantize activations to int8 per 32-value block, as llama.cpp does, so that
/// packed integer weights multiply as integers.
/// </summary>
public enum KernelPath
{
    Auto,
    Scalar,
    Avx2,
    Avx512,
}

public static class KernelPaths
{
    public static bool IsSupported(KernelPath path) => path switch
    {
        KernelPath.Auto or KernelPath.Scalar => true,
        KernelPath.Avx2 => Avx2.IsSupported && Fma.IsSupported,
        KernelPath.Avx512 => Avx512BW.IsSupported && Avx512F.IsSupported,
        _ => false,
    };

    /// <summary>The fastest path this CPU runs.</summary>
    public static KernelPath Best => IsSupported(KernelPath.Avx512) ? KernelPath.Avx512 : IsSupported(KernelPath.Avx2) ? KernelPath.Avx2 : KernelPath.Scalar;

    /// <summary>Resolves Auto and checks the CPU; asking for an unsupported path is an error, not a silent fallback.</summary>
    public static KernelPath Resolve(KernelPath path)
    {
        if (path == KernelPath.Auto) return Best;
        if (!IsSupported(path)) throw new PlatformNotSupportedException($"this CPU does not support the {path} kernels; use Auto or {Best}.");
        return path;
    }
}
