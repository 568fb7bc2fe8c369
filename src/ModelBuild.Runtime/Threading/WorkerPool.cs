namespace ModelBuild.Runtime.Threading;

/// <summary>
/// A persistent pool: <c>threads - 1</c> background workers plus the calling thread run each <see cref="Run"/>.
/// Decode issues a few hundred short parallel calls per token, so a call allocates nothing and workers spin
/// briefly before sleeping (a sleeping worker costs a wake-up of several microseconds).
/// </summary>
public sealed class WorkerPool : IDisposable
{
    private const int SpinIterations = 20_000;

    private readonly Thread[] _workers;
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
        for (int i = 0; i < _workers.Length; i++)
        {
            _workers[i] = new Thread(WorkerLoop) { IsBackground = true, Name = $"ModelBuild worker {i + 1}" };
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
        lock (_callers) RunOnWorkers(work, count, chunk);
    }

    private void RunOnWorkers(IParallelWork work, int count, int chunk)
    {
        lock (_gate)
        {
            _work = work;
            _count = count;
            _chunk = chunk;
            _next = 0;
            _failure = null;
            _pending = _workers.Length;
            _generation++;
            Monitor.PulseAll(_gate);
        }
        RunChunks();
        var spin = new SpinWait();
        while (Volatile.Read(ref _pending) != 0) spin.SpinOnce(sleep1Threshold: -1);
        _work = null;
        if (_failure is { } failure) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
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

    private void WorkerLoop()
    {
        int seen = 0;
        while (true)
        {
            int spins = 0;
            while (Volatile.Read(ref _generation) == seen && !_disposed)
            {
                if (++spins < SpinIterations) Thread.SpinWait(10);
                else
                    lock (_gate)
                        while (Volatile.Read(ref _generation) == seen && !_disposed) Monitor.Wait(_gate);
            }
            if (_disposed) return;
            seen = Volatile.Read(ref _generation);
            RunChunks();
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
