using ModelBuild.Runtime.Threading;

namespace ModelBuild.Runtime.Llama;

/// <summary>A session's keys and values for every layer, with the attention that reads them; the element type is the implementation's.</summary>
internal interface IKvCache
{
    /// <summary>Positions the cache holds before it must grow.</summary>
    int Capacity { get; }

    /// <summary>Holds <paramref name="capacity"/> positions from now on, keeping the first <paramref name="positions"/>.</summary>
    void Grow(int positions, int capacity);

    /// <summary>Appends T tokens' keys and values ([T, kvHeads·headDim] each) to a layer's cache at positions start…start+T-1.</summary>
    void Store(int layer, ReadOnlySpan<float> keys, ReadOnlySpan<float> values, int start, int tokens);

    /// <summary>Attention of T queries ([T, heads·headDim], positions start…) over a layer's cache, into output.</summary>
    void Attend(WorkerPool pool, int layer, float[] queries, float[] output, int start, int tokens);
}

/// <summary>The layers' caches in <typeparamref name="TElement"/>'s format, laid out by one <see cref="AttentionWork{T, TElement}"/>.</summary>
internal sealed class KvCache<T, TElement> : IKvCache where T : unmanaged where TElement : struct, IKvElement<T>
{
    private readonly AttentionWork<T, TElement> _attention;
    private readonly T[][] _keys, _values;

    public KvCache(int layers, int heads, int kvHeads, int headDim, int capacity)
    {
        _attention = new AttentionWork<T, TElement>(heads, kvHeads, headDim, capacity);
        _keys = Enumerable.Range(0, layers).Select(_ => new T[_attention.CacheLength]).ToArray();
        _values = Enumerable.Range(0, layers).Select(_ => new T[_attention.CacheLength]).ToArray();
    }

    public int Capacity => _attention.Capacity;

    public void Grow(int positions, int capacity) => _attention.Grow(_keys, _values, positions, capacity);

    public void Store(int layer, ReadOnlySpan<float> keys, ReadOnlySpan<float> values, int start, int tokens)
    {
        _attention.StoreKeys(keys, _keys[layer], start, tokens);
        _attention.StoreValues(values, _values[layer], start, tokens);
    }

    public void Attend(WorkerPool pool, int layer, float[] queries, float[] output, int start, int tokens) =>
        _attention.Run(pool, queries, _keys[layer], _values[layer], output, start, tokens);
}
