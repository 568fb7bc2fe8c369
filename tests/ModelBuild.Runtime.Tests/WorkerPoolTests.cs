using ModelBuild.Runtime.Threading;

namespace ModelBuild.Runtime.Tests;

public class WorkerPoolTests
{
    private sealed class CountingWork(int count, int sleepMs = 0) : IParallelWork
    {
        public readonly int[] Hits = new int[count];
        public readonly HashSet<int> Threads = [];
        public void Execute(int start, int end)
        {
            lock (Threads) Threads.Add(Environment.CurrentManagedThreadId);
            for (int i = start; i < end; i++) Interlocked.Increment(ref Hits[i]);
            if (sleepMs > 0) Thread.Sleep(sleepMs); // long enough that a second thread surely gets a share
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1000)]
    [InlineData(3, 7)]
    [InlineData(4, 4096)]
    public void Every_item_runs_exactly_once_across_many_calls(int threads, int items)
    {
        using var pool = new WorkerPool(threads);
        for (int call = 0; call < 200; call++)
        {
            var work = new CountingWork(items);
            pool.Run(work, items);
            Assert.All(work.Hits, h => Assert.Equal(1, h));
        }
    }

    [Theory]
    [InlineData(1, 1000, 16)]
    [InlineData(2, 31, 16)]     // too few items to split: the caller runs them all
    [InlineData(2, 2560, 16)]
    [InlineData(3, 1001, 16)]   // the last range ends off the granularity
    [InlineData(4, 4096, 7)]
    public void A_split_call_runs_every_item_exactly_once(int threads, int items, int granularity)
    {
        using var pool = new WorkerPool(threads);
        for (int call = 0; call < 100; call++)
        {
            var work = new CountingWork(items);
            pool.RunSplit(work, items, granularity);
            Assert.All(work.Hits, h => Assert.Equal(1, h));
        }
    }

    /// <summary>Work that is slow on the calling thread, as on a vCPU that the host keeps busy.</summary>
    private sealed class SlowCallerWork(int callerThread) : IParallelWork
    {
        public int CallerItems, WorkerItems;
        public void Execute(int start, int end)
        {
            bool caller = Environment.CurrentManagedThreadId == callerThread;
            var spin = System.Diagnostics.Stopwatch.StartNew();
            // 2 µs per item on the caller, 1 µs on the worker: the caller is half as fast.
            while (spin.Elapsed.TotalMicroseconds < (end - start) * (caller ? 2.0 : 1.0)) { }
            if (caller) CallerItems = end - start;
            else WorkerItems = end - start;
        }
    }

    [Fact]
    public void A_split_call_gives_a_slower_thread_a_smaller_range()
    {
        using var pool = new WorkerPool(2);
        var work = new SlowCallerWork(Environment.CurrentManagedThreadId);
        for (int call = 0; call < 60; call++) pool.RunSplit(work, 1024, 16);
        // Converged near a third for the caller; an even split would give it half.
        Assert.InRange(work.CallerItems, 256, 448);
        Assert.Equal(1024, work.CallerItems + work.WorkerItems);
    }

    [Fact]
    public void Work_is_shared_between_threads()
    {
        using var pool = new WorkerPool(2);
        var work = new CountingWork(4096, sleepMs: 5);
        pool.Run(work, 4096);
        Assert.Equal(2, work.Threads.Count);
    }

    private sealed class FailingWork : IParallelWork
    {
        public void Execute(int start, int end)
        {
            if (start <= 500 && 500 < end) throw new InvalidOperationException("item 500");
        }
    }

    [Fact]
    public void A_failure_in_any_worker_reaches_the_caller_and_the_pool_stays_usable()
    {
        using var pool = new WorkerPool(3);
        var e = Assert.Throws<InvalidOperationException>(() => pool.Run(new FailingWork(), 1000));
        Assert.Equal("item 500", e.Message);
        var work = new CountingWork(100);
        pool.Run(work, 100);
        Assert.All(work.Hits, h => Assert.Equal(1, h));
        e = Assert.Throws<InvalidOperationException>(() => pool.RunSplit(new FailingWork(), 1000, 16));
        Assert.Equal("item 500", e.Message);
        work = new CountingWork(1000);
        pool.RunSplit(work, 1000, 16);
        Assert.All(work.Hits, h => Assert.Equal(1, h));
    }

    [Fact]
    public void Workers_that_fell_asleep_wake_for_the_next_call()
    {
        using var pool = new WorkerPool(2);
        Thread.Sleep(200); // past the spin phase
        var work = new CountingWork(4096);
        pool.Run(work, 4096);
        Assert.All(work.Hits, h => Assert.Equal(1, h));
    }

    [Fact]
    public void A_disposed_pool_refuses_work()
    {
        var pool = new WorkerPool(2);
        pool.Dispose();
        Assert.Throws<ObjectDisposedException>(() => pool.Run(new CountingWork(1), 1));
    }
}

public class WorkerPoolSharingTests
{
    private sealed class SummingWork(int count) : IParallelWork
    {
        public long Sum;
        public void Execute(int start, int end)
        {
            long s = 0;
            for (int i = start; i < end; i++) s += i;
            Interlocked.Add(ref Sum, s);
        }
        public long Expected => (long)count * (count - 1) / 2;
    }

    [Fact]
    public async Task Callers_on_several_threads_share_one_pool_safely()
    {
        using var pool = new WorkerPool(2);
        var callers = Enumerable.Range(0, 4).Select(c => Task.Run(() =>
        {
            for (int call = 0; call < 500; call++)
            {
                var work = new SummingWork(1000 + c);
                pool.Run(work, 1000 + c);
                Assert.Equal(work.Expected, work.Sum);
            }
        })).ToArray();
        await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(60)); // a deadlock fails by timeout
    }
}
