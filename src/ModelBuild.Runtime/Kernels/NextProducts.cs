using ModelBuild.Runtime.Threading;
using ModelBuild.Runtime.Weights;

namespace ModelBuild.Runtime.Kernels;

/// <summary>
/// The one to three products of the dispatch after the current one, rows concatenated as <see cref="MatMul"/> runs them,
/// for the pool's waiting threads to prefetch (<see cref="IPrefetchWork"/>).
/// </summary>
internal sealed class NextProducts : IPrefetchWork
{
    private readonly IWeightMatrix?[] _matrices = new IWeightMatrix?[3];
    private readonly int[] _firstRows = new int[3];
    private int _products;

    public int Count { get; private set; }

    public void Set(IWeightMatrix a, IWeightMatrix? b, IWeightMatrix? c)
    {
        _products = 0;
        Count = 0;
        foreach (var m in (ReadOnlySpan<IWeightMatrix?>)[a, b, c])
        {
            if (m is null) continue;
            _matrices[_products] = m;
            _firstRows[_products++] = Count;
            Count += m.Rows;
        }
    }

    /// <summary>The cursor is the product (high 32 bits) and the step within its part of [start, end) (low 32 bits).</summary>
    public long Prefetch(int start, int end, ref long cursor)
    {
        for (int p = (int)(cursor >> 32), step = (int)cursor; p < _products; p++, step = 0)
        {
            // A thread may read this while the caller refills it for a later call: a null or stale entry only skips a hint.
            if (_matrices[p] is not { } m) break;
            int first = _firstRows[p], from = Math.Max(start, first) - first, to = Math.Min(end, first + m.Rows) - first;
            if (from >= to) continue;
            long bytes = m.PrefetchDecodeStep(from, to, step);
            if (bytes > 0)
            {
                cursor = (long)p << 32 | (uint)(step + 1);
                return bytes;
            }
        }
        return 0;
    }
}
