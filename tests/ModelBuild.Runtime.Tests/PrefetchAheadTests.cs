using ModelBuild.Runtime.Kernels;
using ModelBuild.Runtime.Threading;
using ModelBuild.Runtime.Weights;

namespace ModelBuild.Runtime.Tests;

/// <summary>A waiting thread prefetches its range of the next dispatch (<see cref="WorkerPool.RunSplit"/>'s next).</summary>
public class PrefetchAheadTests
{
    /// <summary>Records every prefetch call; each hands out <paramref name="bytesPerStep"/> for <paramref name="steps"/> steps.</summary>
    private sealed class RecordingPrefetch(int count, int steps, long bytesPerStep) : IPrefetchWork
    {
        public readonly List<(int Thread, int Start, int End, long Cursor)> Calls = [];
        public readonly ManualResetEventSlim Finished = new();
        public int Count => count;

        public long Prefetch(int start, int end, ref long cursor)
        {
            lock (Calls) Calls.Add((Environment.CurrentManagedThreadId, start, end, cursor));
            if (cursor >= steps)
            {
                Finished.Set();
                return 0;
            }
            cursor++;
            return bytesPerStep;
        }

        public int CallCount { get { lock (Calls) return Calls.Count; } }
    }

    /// <summary>The caller's range waits for <paramref name="release"/>; the worker's returns at once.</summary>
    private sealed class CallerWaitsWork(int callerThread, ManualResetEventSlim release) : IParallelWork
    {
        public void Execute(int start, int end)
        {
            if (Environment.CurrentManagedThreadId == callerThread) Assert.True(release.Wait(TimeSpan.FromSeconds(10)), "the worker never prefetched");
        }
    }

    [Fact]
    public void A_thread_that_finishes_first_prefetches_its_range_of_the_next_dispatch_in_order()
    {
        using var pool = new WorkerPool(2);
        var next = new RecordingPrefetch(count: 320, steps: 5, bytesPerStep: 4096);
        pool.RunSplit(new CallerWaitsWork(Environment.CurrentManagedThreadId, next.Finished), 640, granularity: 16, next);

        var calls = next.Calls.ToList();
        Assert.NotEmpty(calls);
        Assert.All(calls, c => Assert.NotEqual(Environment.CurrentManagedThreadId, c.Thread));
        // Even shares at first: the worker's range of the next 320 items is the second half.
        Assert.All(calls, c => Assert.Equal((160, 320), (c.Start, c.End)));
        // Step after step from the start, and no call after the callee said there was nothing left.
        Assert.Equal([0L, 1, 2, 3, 4, 5], calls.Select(c => c.Cursor));
    }

    [Fact]
    public void Prefetching_stops_at_a_budget_and_at_the_next_dispatch()
    {
        using var pool = new WorkerPool(2);
        // One byte per step: only the next dispatch can stop it.
        var endless = new RecordingPrefetch(count: 320, steps: int.MaxValue, bytesPerStep: 1);
        pool.RunSplit(new CountingWork(), 640, granularity: 16, endless);
        SpinWait.SpinUntil(() => endless.CallCount > 1000, TimeSpan.FromSeconds(10));
        Assert.True(endless.CallCount > 1000, "the worker stopped prefetching while it waited");
        pool.RunSplit(new CountingWork(), 640, granularity: 16, next: null);
        int after = endless.CallCount;
        Thread.Sleep(50);
        Assert.True(endless.CallCount <= after + 2, $"{endless.CallCount - after} prefetch calls after a dispatch without a next one");

        // Big steps: the budget (half a megabyte per thread) ends it long before the callee runs out.
        var big = new RecordingPrefetch(count: 320, steps: 1000, bytesPerStep: 64 << 10);
        pool.RunSplit(new CountingWork(), 640, granularity: 16, big);
        Thread.Sleep(50);
        Assert.InRange(big.Calls.Count(c => c.Thread != Environment.CurrentManagedThreadId), 1, 8);
    }

    private sealed class CountingWork : IParallelWork
    {
        public void Execute(int start, int end) { }
    }

    [Theory]
    [InlineData(4, 256, 2048, 0, 256)]
    [InlineData(4, 256, 2048, 48, 208)]  // a worker's range: two streams from row 48 and row 128
    [InlineData(3, 100, 1024, 5, 29)]    // under two tiles: one stream
    [InlineData(8, 96, 512, 16, 96)]
    public void Decode_prefetch_steps_cover_each_row_of_a_range_once(int bits, int rows, int cols, int rowStart, int rowEnd)
    {
        using var random = RandomQuantized.Create(bits, rows, cols, 128, outliers: false, seed: rows);
        var m = random.Matrix;
        long perRow = m.PackedBytes / rows, total = 0;
        int steps = 0;
        for (long bytes; (bytes = m.PrefetchDecodeStep(rowStart, rowEnd, steps)) > 0; steps++) total += bytes;
        Assert.Equal((rowEnd - rowStart) * perRow, total);
        // A step is four rows of each stream (the first stream has whole tiles of 16 rows, the second the rest).
        int firstStream = rowEnd - rowStart < 32 ? rowEnd - rowStart : (rowEnd - rowStart + 31) / 32 * 16;
        Assert.Equal((firstStream + 3) / 4, steps);
        Assert.Equal(0, m.PrefetchDecodeStep(0, rows + 1, 0));
        Assert.Equal(0, m.PrefetchDecodeStep(-16, rows, 0));
    }

    [Fact]
    public void Next_products_prefetch_each_product_s_part_of_a_range_in_turn()
    {
        using var q = RandomQuantized.Create(4, 96, 256, 128, outliers: false, seed: 1);
        using var k = RandomQuantized.Create(4, 32, 256, 128, outliers: false, seed: 2);
        using var v = RandomQuantized.Create(4, 32, 256, 128, outliers: false, seed: 3);
        var next = new NextProducts();
        next.Set(q.Matrix, k.Matrix, v.Matrix);
        Assert.Equal(160, next.Count);
        long perRow = q.Matrix.PackedBytes / 96;
        foreach (var (start, end) in new[] { (0, 160), (0, 80), (80, 160), (64, 112) })
        {
            long cursor = 0, total = 0;
            var products = new List<int>();
            for (long bytes; (bytes = next.Prefetch(start, end, ref cursor)) > 0;)
            {
                total += bytes;
                products.Add((int)(cursor >> 32));
            }
            Assert.Equal((end - start) * perRow, total);
            Assert.Equal(products.Order(), products); // q's rows, then k's, then v's
            Assert.Equal(0, next.Prefetch(start, end, ref cursor)); // and it stays done
        }
    }
}
