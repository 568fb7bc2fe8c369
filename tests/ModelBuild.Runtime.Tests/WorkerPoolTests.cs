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
