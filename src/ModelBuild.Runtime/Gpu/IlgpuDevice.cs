using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace ModelBuild.Runtime.Gpu;

/// <summary>
/// One ILGPU accelerator with the kernels loaded: the first CUDA device when there is one, else (only when
/// asked for) ILGPU's CPU accelerator, which emulates a GPU slowly and serves to test the kernels' results.
/// </summary>
public sealed class IlgpuDevice : IDisposable
{
    private readonly Context _context;

    public Accelerator Accelerator { get; }
    public bool IsCuda { get; }
    public string Name => Accelerator.Name;

    internal Action<Index3D, ArrayView<uint>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<float>,
        ArrayView<float>, ArrayView<float>, ProductSlices> GroupQuantized { get; }
    internal Action<Index3D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ProductSlices> Dense { get; }
    internal Action<Index3D, ArrayView<ushort>, ArrayView<float>, ArrayView<float>, ProductSlices, int> Dense16 { get; }
    internal Action<Index2D, ArrayView<float>, ArrayView<float>, ProductSlices> SumSlices { get; }
    internal Action<Index2D, ArrayView<float>, ArrayView<float>, int, int> SquareSums { get; }
    internal Action<Index2D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float> Normalize { get; }
    internal Action<Index2D, ArrayView<float>, ArrayView<float>, int> AddBias { get; }
    internal Action<Index2D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int> Rope { get; }
    internal Action<Index1D, ArrayView<float>, ArrayView<float>, long> Store { get; }
    internal Action<Index3D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int, int> AttentionScores { get; }
    internal Action<Index2D, ArrayView<float>, ArrayView<float>, int, int, int> AttentionSoftmax { get; }
    internal Action<Index3D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int, int> AttentionValues { get; }
    internal Action<Index1D, ArrayView<float>, ArrayView<float>> SwiGlu { get; }
    internal Action<Index1D, ArrayView<float>, ArrayView<float>> Add { get; }

    private static readonly Lazy<bool> _cudaAvailable = new(() =>
    {
        try
        {
            using var context = Context.Create(b => b.Cuda());
            return context.GetCudaDevices().Count > 0;
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or NotSupportedException or InvalidOperationException)
        {
            return false;
        }
    });

    /// <summary>Whether a CUDA GPU (and its driver) is present.</summary>
    public static bool CudaAvailable => _cudaAvailable.Value;

    private IlgpuDevice(bool requireCuda)
    {
        bool cuda = CudaAvailable;
        if (requireCuda && !cuda) throw new PlatformNotSupportedException("no CUDA GPU is available; use the CPU kernels (Auto) instead.");
        _context = cuda ? Context.Create(b => b.Cuda().CPU()) : Context.Create(b => b.CPU());
        Accelerator = cuda ? _context.GetCudaDevice(0).CreateAccelerator(_context) : _context.GetCPUDevice(0).CreateAccelerator(_context);
        IsCuda = cuda;
        GroupQuantized = Accelerator.LoadAutoGroupedStreamKernel<Index3D, ArrayView<uint>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>,
            ArrayView<float>, ArrayView<float>, ArrayView<float>, ProductSlices>(IlgpuKernels.GroupQuantized);
        Dense = Accelerator.LoadAutoGroupedStreamKernel<Index3D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ProductSlices>(IlgpuKernels.Dense);
        Dense16 = Accelerator.LoadAutoGroupedStreamKernel<Index3D, ArrayView<ushort>, ArrayView<float>, ArrayView<float>, ProductSlices, int>(IlgpuKernels.Dense16);
        SumSlices = Accelerator.LoadAutoGroupedStreamKernel<Index2D, ArrayView<float>, ArrayView<float>, ProductSlices>(IlgpuKernels.SumSlices);
        SquareSums = Accelerator.LoadAutoGroupedStreamKernel<Index2D, ArrayView<float>, ArrayView<float>, int, int>(IlgpuForwardKernels.SquareSums);
        Normalize = Accelerator.LoadAutoGroupedStreamKernel<Index2D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float>(
            IlgpuForwardKernels.Normalize);
        AddBias = Accelerator.LoadAutoGroupedStreamKernel<Index2D, ArrayView<float>, ArrayView<float>, int>(IlgpuForwardKernels.AddBias);
        Rope = Accelerator.LoadAutoGroupedStreamKernel<Index2D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(IlgpuForwardKernels.Rope);
        Store = Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, long>(IlgpuForwardKernels.Store);
        AttentionScores = Accelerator.LoadAutoGroupedStreamKernel<Index3D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int, int>(
            IlgpuForwardKernels.AttentionScores);
        AttentionSoftmax = Accelerator.LoadAutoGroupedStreamKernel<Index2D, ArrayView<float>, ArrayView<float>, int, int, int>(IlgpuForwardKernels.AttentionSoftmax);
        AttentionValues = Accelerator.LoadAutoGroupedStreamKernel<Index3D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int, int>(
            IlgpuForwardKernels.AttentionValues);
        SwiGlu = Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>>(IlgpuForwardKernels.SwiGlu);
        Add = Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>>(IlgpuForwardKernels.Add);
    }

    /// <summary>CUDA if present; otherwise the CPU accelerator unless <paramref name="requireCuda"/>.</summary>
    public static IlgpuDevice Create(bool requireCuda) => new(requireCuda);

    public void Dispose()
    {
        Accelerator.Dispose();
        _context.Dispose();
    }
}
