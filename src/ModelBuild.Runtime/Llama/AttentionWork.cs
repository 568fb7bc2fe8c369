using System.Numerics.Tensors;
using ModelBuild.Runtime.Kernels;
using ModelBuild.Runtime.Threading;

namespace ModelBuild.Runtime.Llama;

/// <summary>
/// Causal grouped-query attention of T new queries over a layer's KV cache, one (token, head) pair per work
/// item. Scores live in a per-thread buffer, so a decode step allocates nothing. The cache is dimension-major
/// ([kvHead][dim][position], see <see cref="CacheIndex"/>): scores and the weighted sum become headDim long
/// vector operations over positions instead of one short dot product per position, which is what decode at depth
/// spends its time on.
/// </summary>
internal sealed class AttentionWork(int heads, int kvHeads, int headDim, int maxPositions) : IParallelWork
{
    [ThreadStatic] private static float[]? _scores;

    private float[]? _q, _keys, _values, _output;
    private int _position;

    /// <summary>Where (kvHead, dim, position) lives in a layer's key or value cache.</summary>
    public int CacheIndex(int kvHead, int dim, int position) => (kvHead * headDim + dim) * maxPositions + position;

    /// <summary>Appends T tokens' keys or values ([T, kvHeads*headDim]) at positions start…start+T-1.</summary>
    public void Store(ReadOnlySpan<float> source, float[] cache, int start, int tokens)
    {
        int kvDim = kvHeads * headDim;
        for (int t = 0; t < tokens; t++)
            for (int i = 0; i < kvDim; i++) cache[CacheIndex(0, i, start + t)] = source[t * kvDim + i];
    }

    /// <summary>q: [T, heads*headDim] at positions start..start+T-1; the cache already holds them; output like q.</summary>
    public void Run(WorkerPool pool, float[] q, float[] keys, float[] values, float[] output, int start, int tokens)
    {
        (_q, _keys, _values, _output, _position) = (q, keys, values, output, start);
        try { pool.Run(this, tokens * heads); }
        finally { (_q, _keys, _values, _output) = (null, null, null, null); }
    }

    public void Execute(int startItem, int endItem)
    {
        var scores = _scores is { } s && s.Length >= maxPositions ? s : (_scores = new float[maxPositions]);
        int group = heads / kvHeads, qDim = heads * headDim;
        float scale = 1f / MathF.Sqrt(headDim);
        for (int item = startItem; item < endItem; item++)
        {
            int t = item / heads, head = item % heads, kvHead = head / group;
            int length = _position + t + 1;
            var query = new ReadOnlySpan<float>(_q, t * qDim + head * headDim, headDim);
            var span = scores.AsSpan(0, length);
            span.Clear();
            for (int d = 0; d < headDim; d++)
                TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(_keys, CacheIndex(kvHead, d, 0), length), query[d], span, span);
            TensorPrimitives.Multiply(span, scale, span);
            Softmax.InPlace(span);
            var dst = _output.AsSpan(t * qDim + head * headDim, headDim);
            for (int d = 0; d < headDim; d++)
                dst[d] = TensorPrimitives.Dot(span, new ReadOnlySpan<float>(_values, CacheIndex(kvHead, d, 0), length));
        }
    }
}
