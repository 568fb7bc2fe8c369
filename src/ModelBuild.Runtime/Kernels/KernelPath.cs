using System.Runtime.Intrinsics.X86;

namespace ModelBuild.Runtime.Kernels;

/// <summary>
/// Where the matrix products run. <see cref="Scalar"/> is the plain CPU reference (full-precision
/// activations); the SIMD paths quantize activations to int8 per 32-value block, as llama.cpp does, so that
/// packed integer weights multiply as integers. <see cref="Ilgpu"/> runs ILGPU kernels on a CUDA GPU when
/// present, else on ILGPU's CPU accelerator (an emulator: for checking the kernels, not for speed);
/// <see cref="Cuda"/> insists on a GPU. Auto picks CUDA when a GPU is present, else the best CPU path.
/// </summary>
public enum KernelPath
{
    /// <summary>CUDA when a GPU is present, else the best CPU path this processor supports.</summary>
    Auto,
    /// <summary>Plain C# with float activations: the reference the other paths are checked against.</summary>
    Scalar,
    /// <summary>AVX2 integer kernels (int8 activations).</summary>
    Avx2,
    /// <summary>AVX-512 integer kernels (int8 activations).</summary>
    Avx512,
    /// <summary>ILGPU kernels: on a CUDA GPU when present, else ILGPU's CPU accelerator (slow; for checking).</summary>
    Ilgpu,
    /// <summary>ILGPU kernels on a CUDA GPU; an error when none is present.</summary>
    Cuda,
}

/// <summary>Which <see cref="KernelPath"/>s this machine supports, and what Auto resolves to.</summary>
public static class KernelPaths
{
    public static bool IsSupported(KernelPath path) => path switch
    {
        KernelPath.Auto or KernelPath.Scalar => true,
        KernelPath.Avx2 => Avx2.IsSupported && Fma.IsSupported,
        KernelPath.Avx512 => Avx512BW.IsSupported && Avx512F.IsSupported,
        KernelPath.Ilgpu => true,
        KernelPath.Cuda => Gpu.IlgpuDevice.CudaAvailable,
        _ => false,
    };

    public static bool IsDevice(KernelPath path) => path is KernelPath.Ilgpu or KernelPath.Cuda;

    /// <summary>Whether <paramref name="path"/> multiplies 2:4-packed matrices as they are packed: AVX-512 with VBMI (byte bit-field selects).</summary>
    public static bool HasSparse24Kernels(KernelPath path) => path == KernelPath.Avx512 && Avx512Vbmi.IsSupported && Avx512BW.IsSupported;

    /// <summary>The fastest path this CPU runs.</summary>
    public static KernelPath Best => IsSupported(KernelPath.Avx512) ? KernelPath.Avx512 : IsSupported(KernelPath.Avx2) ? KernelPath.Avx2 : KernelPath.Scalar;

    /// <summary>Resolves Auto and checks the CPU; asking for an unsupported path is an error, not a silent fallback.</summary>
    public static KernelPath Resolve(KernelPath path)
    {
        if (path == KernelPath.Auto) return Gpu.IlgpuDevice.CudaAvailable ? KernelPath.Cuda : Best;
        if (!IsSupported(path)) throw new PlatformNotSupportedException($"this CPU does not support the {path} kernels; use Auto or {Best}.");
        return path;
    }
}
