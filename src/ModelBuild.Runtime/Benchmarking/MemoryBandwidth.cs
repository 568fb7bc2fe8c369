using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ModelBuild.Runtime.Threading;

namespace ModelBuild.Runtime.Benchmarking;

/// <summary>
/// Read bandwidth of main memory: the pool's threads each stream a share of a buffer much larger than the caches,
/// folding it with XOR. Each pass reads the buffer in two patterns, one stream per thread with 256-bit loads and two
/// streams per thread (its share's halves in alternation) with the widest loads, and the fastest reading of all passes
/// is reported, as the machine is shared and noisy. (Until session 12 only the first pattern ran; on the Zen 5 host the
/// second reads 64–68 GB/s where the first reads 53–57, so decode's share of "the bandwidth" was overstated by about a fifth.)
/// </summary>
public sealed unsafe class MemoryBandwidth : IParallelWork, IDisposable
{
    private const int ChunkBytes = 1 << 20;
    private readonly byte* _buffer;
    private readonly long _bytes;
    private readonly bool _owned;
    private int _streams = 1;
    private readonly double[] _bestByStreams = new double[3];
    private ulong _fold;
    private readonly object _foldLock = new();

    public MemoryBandwidth(long bytes = 1L << 30)
    {
        _bytes = bytes / ChunkBytes * ChunkBytes;
        _buffer = (byte*)NativeMemory.AlignedAlloc((nuint)_bytes, Format.Pack.LargePages.Size);
        _owned = true;
        // On 2 MB pages, as a pack is once mapped (Format.Pack.LargePages): on 4 KB pages the probe read about 5 % less
        // (median of 8 interleaved readings here), which flattered every bandwidth share.
        Format.Pack.LargePages.Advise(_buffer, _bytes);
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
            for (int streams = 1; streams <= 2; streams++)
            {
                long start = Stopwatch.GetTimestamp();
                Read(pool, streams);
                double reading = _bytes / Stopwatch.GetElapsedTime(start).TotalSeconds / 1e9;
                best = Math.Max(best, reading);
                _bestByStreams[streams] = Math.Max(_bestByStreams[streams], reading);
            }
        return best;
    }

    /// <summary>The fastest reading so far of each pattern (one and two streams per thread), GB/s; 0 before any.</summary>
    public (double OneStream, double TwoStreams) BestByPattern => (_bestByStreams[1], _bestByStreams[2]);

    /// <summary>The region the probe reads.</summary>
    internal byte* Buffer => _buffer;

    /// <summary>Reads the whole buffer with one or two streams per thread; returns the XOR of all its 64-bit words.</summary>
    internal ulong Read(WorkerPool pool, int streams)
    {
        _streams = streams;
        _fold = 0;
        // Pieces of at least 16 MB, taken first come first served (a split dispatch would move decode's shares).
        pool.Run(this, (int)(_bytes / ChunkBytes), minChunk: 16);
        return _fold;
    }

    public void Execute(int start, int end)
    {
        byte* first = _buffer + (long)start * ChunkBytes;
        long length = (long)(end - start) * ChunkBytes;
        long half = _streams == 2 ? length / 2 / 256 * 256 : 0; // whole 256-byte steps per stream
        ulong fold = half > 0 ? TwoStreams(first, half) ^ OneStream(first + 2 * half, length - 2 * half) : OneStream(first, length);
        // Keeps the loads observable (not optimised away), and lets a test check that every word was read once.
        lock (_foldLock) _fold ^= fold;
    }

    /// <summary>One stream, 256-bit loads, two accumulators.</summary>
    private static ulong OneStream(byte* p, long length)
    {
        var acc0 = Vector256<ulong>.Zero;
        var acc1 = Vector256<ulong>.Zero;
        long i = 0;
        for (; i + 256 <= length; i += 256)
        {
            var v = (Vector256<ulong>*)(p + i);
            acc0 ^= v[0] ^ v[1] ^ v[2] ^ v[3];
            acc1 ^= v[4] ^ v[5] ^ v[6] ^ v[7];
        }
        ulong fold = Fold(acc0 ^ acc1);
        for (; i + 8 <= length; i += 8) fold ^= *(ulong*)(p + i);
        return fold;
    }

    /// <summary>Two streams in alternation, <paramref name="half"/> bytes apart (a multiple of 256), widest loads.</summary>
    private static ulong TwoStreams(byte* p, long half)
    {
        if (!Vector512.IsHardwareAccelerated) return TwoStreams256(p, half);
        var acc0 = Vector512<ulong>.Zero;
        var acc1 = Vector512<ulong>.Zero;
        for (long i = 0; i < half; i += 256)
        {
            var a = (Vector512<ulong>*)(p + i);
            var b = (Vector512<ulong>*)(p + half + i);
            acc0 ^= a[0] ^ a[1] ^ a[2] ^ a[3];
            acc1 ^= b[0] ^ b[1] ^ b[2] ^ b[3];
        }
        return Fold(acc0.GetLower() ^ acc0.GetUpper() ^ acc1.GetLower() ^ acc1.GetUpper());
    }

    private static ulong TwoStreams256(byte* p, long half)
    {
        var acc0 = Vector256<ulong>.Zero;
        var acc1 = Vector256<ulong>.Zero;
        for (long i = 0; i < half; i += 128)
        {
            var a = (Vector256<ulong>*)(p + i);
            var b = (Vector256<ulong>*)(p + half + i);
            acc0 ^= a[0] ^ a[1] ^ a[2] ^ a[3];
            acc1 ^= b[0] ^ b[1] ^ b[2] ^ b[3];
        }
        return Fold(acc0 ^ acc1);
    }

    private static ulong Fold(Vector256<ulong> v) => v[0] ^ v[1] ^ v[2] ^ v[3];

    public void Dispose()
    {
        if (_owned) NativeMemory.AlignedFree(_buffer);
    }
}
