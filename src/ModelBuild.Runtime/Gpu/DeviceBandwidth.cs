using System.Diagnostics;
using ILGPU;
using ILGPU.Runtime;

namespace ModelBuild.Runtime.Gpu;

/// <summary>
/// Read bandwidth of an ILGPU device's memory, the denominator of a device decode's share (a GPU reads its weights
/// from its own memory, not the host's): many threads each sum every threads-th float of a buffer larger than the
/// device's caches (adjacent threads on adjacent floats), the fastest of several passes counting.
/// </summary>
public sealed class DeviceBandwidth : IDisposable
{
    private readonly IlgpuDevice _device;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _data, _sums;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>> _read;

    /// <param name="device">The device.</param>
    /// <param name="bytes">Buffer size: 1 GiB by default, at most a quarter of the device's memory.</param>
    /// <param name="threads">Reading threads (64K on a GPU; fewer serve ILGPU's CPU accelerator).</param>
    public DeviceBandwidth(IlgpuDevice device, long bytes = 1L << 30, int threads = 1 << 16)
    {
        _device = device;
        var acc = device.Accelerator;
        long floats = Math.Max(threads, Math.Min(bytes, acc.MemorySize / 4) / sizeof(float));
        _data = acc.Allocate1D<float>(floats);
        _data.MemSet(0x3F); // non-zero floats everywhere, so no page is a shared zero page on the CPU accelerator
        _sums = acc.Allocate1D<float>(threads);
        _read = acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>>(ReadAll);
    }

    public long Bytes => _data.Length * sizeof(float);

    /// <summary>The fastest of <paramref name="passes"/> passes over the buffer, GB/s.</summary>
    public double Measure(int passes = 3)
    {
        double best = 0;
        for (int p = 0; p < passes; p++)
        {
            long start = Stopwatch.GetTimestamp();
            _read((int)_sums.Length, _data.View, _sums.View);
            _device.Accelerator.Synchronize();
            best = Math.Max(best, Bytes / Stopwatch.GetElapsedTime(start).TotalSeconds / 1e9);
        }
        return best;
    }

    /// <summary>The per-thread sums of the last pass (every float of the buffer in exactly one of them).</summary>
    internal float[] Sums() => _sums.GetAsArray1D();

    /// <summary>Thread i sums floats i, i + threads, i + 2·threads, … (a store at the end, so the reads count).</summary>
    private static void ReadAll(Index1D i, ArrayView<float> data, ArrayView<float> sums)
    {
        float sum = 0;
        for (long k = i; k < data.Length; k += sums.Length) sum += data[k];
        sums[i] = sum;
    }

    public void Dispose()
    {
        _data.Dispose();
        _sums.Dispose();
    }
}
