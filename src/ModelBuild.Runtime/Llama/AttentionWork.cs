using System.Numerics.Tensors;
using ModelBuild.Runtime.Kernels;
using ModelBuild.Runtime.Threading;

namespace ModelBuild.Runtime.Llama;

/// <summary>
/// Causal grouped-query attention of T new queries over a layer's KV cache, one (token, head) pair per work
/// item. Scores live in a per-thread buffer, so a decode step allocates nothing.
/// </summary>
internal sealed class AttentionWork(int heads, int kvHeads, int headDim, int maxPositions) : IParallelWork
{
    [ThreadStatic] private static float[]? _scores;

    private float[]? _q, _keys, _values, _output;
    private int _position;

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
        int group = heads / kvHeads, qDim = heads * headDim, kvDim = kvHeads * headDim;
        float scale = 1f / MathF.Sqrt(headDim);
        for (int item = startItem; item < endItem; item++)
        {
            int t = item / heads, head = item % heads, kvOffset = head / group * headDim;
            int length = _position + t + 1;
            var query = new ReadOnlySpan<float>(_q, t * qDim + head * headDim, headDim);
            var span = scores.AsSpan(0, length);
            for (int p = 0; p < length; p++)
                span[p] = TensorPrimitives.Dot(query, new ReadOnlySpan<float>(_keys, p * kvDim + kvOffset, headDim)) * scale;
            Softmax.InPlace(span);
            var dst = _output.AsSpan(t * qDim + head * headDim, headDim);
            dst.Clear();
            for (int p = 0; p < length; p++)
                TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(_values, p * kvDim + kvOffset, headDim), span[p], dst, dst);
        }
    }
}
