using ModelBuild.Runtime.Threading;
using ModelBuild.Runtime.Weights;

namespace ModelBuild.Runtime.Kernels;

/// <summary>One product of a batch with a matrix: y[t, r] = W[r, :] · x[t, :] (+ bias[r]).</summary>
public readonly ref struct Product(IWeightMatrix matrix, Span<float> output, ReadOnlySpan<float> bias = default)
{
    public IWeightMatrix Matrix { get; } = matrix;
    public Span<float> Output { get; } = output;
    public ReadOnlySpan<float> Bias { get; } = bias;
}

/// <summary>
/// Matrix products for every token of a batch, split by output rows across a worker pool. Products that share
/// an input (q/k/v, gate/up) run as one dispatch, so small matrices don't each pay for waking the pool. One
/// instance per forward pass: it carries the call's arguments to the workers, so a call allocates nothing.
/// </summary>
public sealed unsafe class MatMul(WorkerPool pool, KernelPath path) : IParallelWork
{
    private const int MaxProducts = 3;

    private struct Target
    {
        public IWeightMatrix? Matrix;
        public float* Output;
        public float* Bias;
        public int FirstRow; // in the dispatch's concatenated row range
    }

    private readonly Target[] _targets = new Target[MaxProducts];
    private int _count;
    // Two, used in turn: a worker may still be prefetching from the one the previous call passed on.
    private readonly NextProducts[] _next = [new(), new()];
    private int _nextIndex;
    private bool _hasNext;
    private ActivationBatch? _x;

    public KernelPath Path { get; } = KernelPaths.Resolve(path);
    public WorkerPool Pool => pool;

    public void Multiply(IWeightMatrix w, ActivationBatch x, Span<float> y, ReadOnlySpan<float> bias = default) =>
        Multiply(x, new Product(w, y, bias));

    /// <summary>
    /// Names the products of the call after the next one: while the next call runs, a thread that finishes its range first,
    /// or waits for the caller's serial work after it, prefetches the start of its range of these (decode).
    /// </summary>
    public void WarmNext(IWeightMatrix a, IWeightMatrix? b = null, IWeightMatrix? c = null)
    {
        _nextIndex ^= 1;
        _next[_nextIndex].Set(a, b, c);
        _hasNext = true;
    }

    /// <summary>Runs one to three products of the same input in a single dispatch.</summary>
    public void Multiply(ActivationBatch x, Product a, Product b = default, Product c = default)
    {
        Check(x, a);
        if (b.Matrix is not null) Check(x, b);
        if (c.Matrix is not null) Check(x, c);
        fixed (float* ya = a.Output, ba = a.Bias, yb = b.Output, bb = b.Bias, yc = c.Output, bc = c.Bias)
        {
            _x = x;
            _count = 0;
            var next = _hasNext ? _next[_nextIndex] : null;
            _hasNext = false;
            int rows = Add(a.Matrix, ya, a.Bias.IsEmpty ? null : ba, 0);
            if (b.Matrix is not null) rows = Add(b.Matrix, yb, b.Bias.IsEmpty ? null : bb, rows);
            if (c.Matrix is not null) rows = Add(c.Matrix, yc, c.Bias.IsEmpty ? null : bc, rows);
            try
            {
                // One contiguous range per thread: decode streams weights, and a single long run per thread
                // keeps the hardware prefetchers trained (measured faster than finer chunks here). The ranges follow
                // the threads' measured speeds, in whole 16-row tiles.
                if (KernelPaths.IsDevice(Path)) ((IParallelWork)this).Execute(0, rows); // the device parallelizes; one host thread drives it
                else pool.RunSplit(this, rows, granularity: 16, next);
            }
            finally
            {
                Array.Clear(_targets);
                _x = null;
            }
        }
    }

    private void Check(ActivationBatch x, Product p)
    {
        if (x.Cols != p.Matrix.Cols) throw new ArgumentException($"the input has {x.Cols} columns; the matrix needs {p.Matrix.Cols}.");
        if (p.Output.Length < x.Tokens * p.Matrix.Rows) throw new ArgumentException("the output buffer is too small.");
        if (!p.Bias.IsEmpty && p.Bias.Length != p.Matrix.Rows) throw new ArgumentException("the bias length differs from the matrix rows.");
        if (p.Matrix.UsesInt8Activations(Path, x)) x.EnsureQuantized();
    }

    private int Add(IWeightMatrix w, float* y, float* bias, int firstRow)
    {
        _targets[_count++] = new Target { Matrix = w, Output = y, Bias = bias, FirstRow = firstRow };
        return firstRow + w.Rows;
    }

    void IParallelWork.Execute(int start, int end)
    {
        var x = _x!;
        for (int i = 0; i < _count; i++)
        {
            ref var target = ref _targets[i];
            var w = target.Matrix!;
            int from = Math.Max(start, target.FirstRow) - target.FirstRow, to = Math.Min(end, target.FirstRow + w.Rows) - target.FirstRow;
            if (from >= to) continue;
            w.MultiplyRows(x, target.Output, w.Rows, from, to, Path);
            if (target.Bias != null)
                for (int t = 0; t < x.Tokens; t++)
                    for (int r = from; r < to; r++) target.Output[(long)t * w.Rows + r] += target.Bias[r];
        }
    }

    /// <summary>A one-off product on the shared pool (tests and tools; the forward pass keeps its own instance and buffers).</summary>
    public static void Multiply(IWeightMatrix w, ReadOnlySpan<float> x, Span<float> y, int tokens, ReadOnlySpan<float> bias = default, KernelPath path = KernelPath.Auto)
    {
        var batch = new ActivationBatch(tokens, w.Cols);
        batch.Reset(tokens);
        x[..(tokens * w.Cols)].CopyTo(batch.Values);
        new MatMul(WorkerPool.Shared, path).Multiply(w, batch, y, bias);
    }
}
