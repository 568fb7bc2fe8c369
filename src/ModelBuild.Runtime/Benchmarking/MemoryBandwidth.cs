using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ModelBuild.Runtime.Threading;

namespace ModelBuild.Runtime.Benchmarking;

/// <summary>
/// Read bandwidth of main memory as the decode loop sees it: the pool's threads each stream a share of a
/// buffer much larger than the caches, summing it with the widest vectors. The best of several passes is
/// reported, as the machine is shared and noisy.
/// </summary>
public sealed unsafe class MemoryBandwidth : IParallelWork, IDisposable
{
    private const int ChunkBytes = 1 << 20;
    private readonly byte* _buffer;
    private readonly long _bytes;
    private readonly bool _owned;
    private readonly double[] _sinks = new double[64];

    public MemoryBandwidth(long bytes = 1L << 30)
    {
        _bytes = bytes / ChunkBytes * ChunkBytes;
        _buffer = (byte*)NativeMemory.AlignedAlloc((nuint)_bytes, 2 << 20);
        _owned = true;
        // Touch every page with non-zero data so the reads hit real memory, not the shared zero page.
        new Span<byte>(_buffer, (int)Math.Min(_bytes, int.MaxValue)).Fill(1);
        for (long offset = int.MaxValue; offset < _bytes; offset += int.MaxValue)
            new Span<byte>(_buffer + offset, (int)Math.Min(_bytes - offset, int.MaxValue)).Fill(1);
    }

    /// <summary>Reads an existing region instead (e.g. a mapped pack), rounded down to whole megabytes.</summary>
    public MemoryBandwidth(byte* region, long bytes)
    {
        _buffer = region;
        _bytes = bytes / ChunkBytes * ChunkBytes;
    }

    /// <summary>GB/s (10^9 bytes per second), best of <paramref name="passes"/>.</summary>
    public double Measure(WorkerPool pool, int passes = 5)
    {
        double best = 0;
        for (int i = 0; i < passes; i++)
        {
            long start = Stopwatch.GetTimestamp();
            pool.Run(this, (int)(_bytes / ChunkBytes), minChunk: 16);
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            best = Math.Max(best, _bytes / seconds / 1e9);
        }
        return best;
    }

    public void Execute(int start, int end)
    {
        var acc0 = Vector256<ulong>.Zero;
        var acc1 = Vector256<ulong>.Zero;
        for (long chunk = start; chunk < end; chunk++)
        {
            var p = (Vector256<ulong>*)(_buffer + chunk * ChunkBytes);
            for (int i = 0; i < ChunkBytes / 32; i += 8)
            {
                acc0 += p[i] ^ p[i + 1] ^ p[i + 2] ^ p[i + 3];
                acc1 += p[i + 4] ^ p[i + 5] ^ p[i + 6] ^ p[i + 7];
            }
        }
        // Keep the result observable so the loads are not optimised away.
        _sinks[start % _sinks.Length] = Vector256.Sum(acc0 + acc1);
    }

    public void Dispose()
    {
        if (_owned) NativeMemory.AlignedFree(_buffer);
    }
}
