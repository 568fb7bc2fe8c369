namespace ModelBuild.Runtime.Threading;

/// <summary>
/// A persistent pool: <c>threads - 1</c> background workers plus the calling thread run each <see cref="Run"/>.
/// Decode issues a few hundred short parallel calls per token, so a call allocates nothing and workers spin
/// briefly before sleeping (a sleeping worker costs a wake-up of several microseconds).
/// </summary>
public sealed class WorkerPool : IDisposable
{
    private const int SpinIterations = 20_000;

    // A split dispatch's shares move this far toward the speeds just measured: about ten dispatches (a tenth of a
    // decoded token) to follow a lasting change, while one noisy dispatch moves them little.
    private const double ShareStep = 0.1;

    // How much of its next range a waiting thread fetches ahead: well inside a core's 1 MB L2, so what it fetches is
    // still there when the dispatch starts.
    private const long PrefetchBudget = 512 << 10;

    private readonly Thread[] _workers;
    private readonly double[] _shares;
    private readonly int[] _bounds;
    private readonly long[] _ticks;
    private readonly int[] _prefetchBounds;
    private readonly long[] _prefetchCursors, _prefetched;
    private IPrefetchWork? _prefetch;
    private bool _split;
    private readonly object _gate = new();
    private readonly object _callers = new();
    private IParallelWork? _work;
    private int _count, _chunk, _next, _pending, _generation;
    private volatile bool _disposed;
    private Exception? _failure;

    public int Threads { get; }

    public WorkerPool(int threads)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), "a pool needs at least one thread.");
        Threads = threads;
        _workers = new Thread[threads - 1];
        _shares = Enumerable.Repeat(1.0 / threads, threads).ToArray();
        _bounds = new int[threads + 1];
        _ticks = new long[threads];
        _prefetchBounds = new int[threads + 1];
        _prefetchCursors = new long[threads];
        _prefetched = new long[threads];
        for (int i = 0; i < _workers.Length; i++)
        {
            int index = i + 1;
            _workers[i] = new Thread(() => WorkerLoop(index)) { IsBackground = true, Name = $"ModelBuild worker {index}" };
            _workers[i].Start();
        }
    }

    private static readonly Lazy<WorkerPool> _shared = new(() => new WorkerPool(Environment.ProcessorCount));

    /// <summary>One pool per process, sized to the cores; models share it unless given their own.</summary>
    public static WorkerPool Shared => _shared.Value;

    /// <summary>
    /// Runs items [0, count) across the pool and returns when all are done: <paramref name="chunksPerThread"/>
    /// chunks per thread (at least <paramref name="minChunk"/> items each), taken first come, first served.
    /// </summary>
    public void Run(IParallelWork work, int count, int minChunk = 1, int chunksPerThread = 4)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (count <= 0) return;
        int chunk = Math.Max(minChunk, (count + Threads * chunksPerThread - 1) / (Threads * chunksPerThread));
        if (_workers.Length == 0 || chunk >= count)
        {
            work.Execute(0, count);
            return;
        }
        // Sessions on different threads share the pool by taking turns: one dispatch at a time.
        lock (_callers) RunOnWorkers(work, count, chunk, split: false);
    }

    /// <summary>
    /// Runs items [0, count) as one contiguous range per thread, sized by how fast each thread got through its range in
    /// earlier split calls, and returns when all are done. For streaming work (decode's products), where a thread's
    /// range must stay one run but the threads do not always run at the same speed: on a VM one vCPU can stay slower
    /// for seconds, and an even split then leaves the other waiting at every dispatch. Ranges are multiples of
    /// <paramref name="granularity"/> items (the last one excepted). With <paramref name="next"/>, a thread that waits
    /// (for the others to finish, or for the caller's serial work before the next dispatch) prefetches the start of its
    /// range of that next dispatch.
    /// </summary>
    public void RunSplit(IParallelWork work, int count, int granularity, IPrefetchWork? next = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (count <= 0) return;
        if (_workers.Length == 0 || count < 2 * granularity)
        {
            work.Execute(0, count);
            return;
        }
        lock (_callers)
        {
            SetBounds(_bounds, count, granularity);
            SetPrefetch(next, granularity);
            RunOnWorkers(work, count, 0, split: true);
            UpdateShares();
        }
    }

    /// <summary>Thread i's range is [bounds[i], bounds[i+1]): its share of the items, rounded to whole granules.</summary>
    private void SetBounds(int[] bounds, int count, int granularity)
    {
        double sum = 0;
        bounds[0] = 0;
        for (int i = 1; i < Threads; i++)
        {
            sum += _shares[i - 1];
            bounds[i] = Math.Clamp((int)Math.Round(sum * count / granularity) * granularity, bounds[i - 1], count);
        }
        bounds[Threads] = count;
    }

    /// <summary>
    /// The next dispatch's ranges by today's shares (they move little per dispatch) and a fresh start for each thread's
    /// prefetching; none when there is no next dispatch, so a thread never fetches what is already running.
    /// </summary>
    private void SetPrefetch(IPrefetchWork? next, int granularity)
    {
        Volatile.Write(ref _prefetch, null);
        if (next is null) return;
        SetBounds(_prefetchBounds, next.Count, granularity);
        Array.Clear(_prefetchCursors);
        Array.Clear(_prefetched);
        Volatile.Write(ref _prefetch, next);
    }

    /// <summary>
    /// One piece of thread <paramref name="index"/>'s prefetching, while it would otherwise spin; false when there is
    /// nothing (left) to fetch. Racing a new dispatch costs at most a stale prefetch hint.
    /// </summary>
    private bool PrefetchAhead(int index)
    {
        var next = Volatile.Read(ref _prefetch);
        if (next is null || _prefetched[index] >= PrefetchBudget) return false;
        long bytes = next.Prefetch(_prefetchBounds[index], _prefetchBounds[index + 1], ref _prefetchCursors[index]);
        _prefetched[index] = bytes == 0 ? PrefetchBudget : _prefetched[index] + bytes;
        return bytes != 0;
    }

    /// <summary>Moves each thread's share toward its measured share of the speed (items per tick) in this call.</summary>
    private void UpdateShares()
    {
        Span<double> speeds = stackalloc double[Threads];
        double total = 0;
        for (int i = 0; i < Threads; i++)
        {
            int items = _bounds[i + 1] - _bounds[i];
            if (items == 0 || _ticks[i] <= 0) return; // a thread without work measured nothing
            speeds[i] = (double)items / _ticks[i];
            total += speeds[i];
        }
        double shareSum = 0;
        for (int i = 0; i < Threads; i++)
        {
            // Bounded, so no thread's range ever shrinks to nothing and stops being measured.
            _shares[i] = Math.Clamp((1 - ShareStep) * _shares[i] + ShareStep * speeds[i] / total, 0.25 / Threads, 1.75 / Threads);
            shareSum += _shares[i];
        }
        for (int i = 0; i < Threads; i++) _shares[i] /= shareSum;
    }

    private void RunOnWorkers(IParallelWork work, int count, int chunk, bool split)
    {
        lock (_gate)
        {
            _work = work;
            _count = count;
            _chunk = chunk;
            _split = split;
            _next = 0;
            _failure = null;
            _pending = _workers.Length;
            _generation++;
            Monitor.PulseAll(_gate);
        }
        RunPart(0);
        var spin = new SpinWait();
        while (Volatile.Read(ref _pending) != 0)
            if (!PrefetchAhead(0)) spin.SpinOnce(sleep1Threshold: -1);
        _work = null;
        if (_failure is { } failure) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
    }

    private void RunPart(int index)
    {
        if (_split) RunShare(index);
        else RunChunks();
    }

    private void RunShare(int index)
    {
        int start = _bounds[index], end = _bounds[index + 1];
        long begin = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            if (start < end) _work!.Execute(start, end);
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _failure, e, null);
        }
        _ticks[index] = System.Diagnostics.Stopwatch.GetTimestamp() - begin;
    }

    private void RunChunks()
    {
        var work = _work!;
        try
        {
            while (true)
            {
                int start = Interlocked.Add(ref _next, _chunk) - _chunk;
                if (start >= _count) return;
                work.Execute(start, Math.Min(_count, start + _chunk));
            }
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _failure, e, null);
            Volatile.Write(ref _next, _count); // the others stop taking chunks
        }
    }

    private void WorkerLoop(int index)
    {
        int seen = 0;
        while (true)
        {
            int spins = 0;
            while (Volatile.Read(ref _generation) == seen && !_disposed)
            {
                if (++spins < SpinIterations)
                {
                    if (!PrefetchAhead(index)) Thread.SpinWait(10);
                }
                else
                    lock (_gate)
                        while (Volatile.Read(ref _generation) == seen && !_disposed) Monitor.Wait(_gate);
            }
            if (_disposed) return;
            seen = Volatile.Read(ref _generation);
            RunPart(index);
            Interlocked.Decrement(ref _pending);
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        lock (_gate)
        {
            _disposed = true;
            Monitor.PulseAll(_gate);
        }
        foreach (var worker in _workers) worker.Join();
    }
}
