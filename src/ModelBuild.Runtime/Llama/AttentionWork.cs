using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ModelBuild.Runtime.Kernels;
using ModelBuild.Runtime.Threading;

namespace ModelBuild.Runtime.Llama;

/// <summary>
/// Causal grouped-query attention of T new queries over a layer's KV cache, one (token, KV head) pair per work
/// item: the query heads that share a KV head are scored together, eight at a time with 512-bit vectors and four
/// otherwise, so each key and value is read once per pass rather than once per head (at depth the cache no longer fits
/// L2, and attention was bound by those reads). Scores live in a per-thread buffer, so a decode step allocates nothing.
/// <para>
/// Each cache is laid out for the vector operation that reads it, and so that a head's positions 0…n are one
/// contiguous run:
/// keys in blocks of 16 positions, [kvHead][block][dim][16] (<see cref="KeyIndex"/>), so a score is a 16-wide
/// multiply-add over positions per dimension; values position-major, [kvHead][position][dim] (<see cref="ValueIndex"/>),
/// so the weighted sum is a multiply-add over dimensions per position. (The earlier dimension-major cache,
/// [kvHead][dim][position], put each dimension of a position in a different page; a decoded token's stores and
/// attention's reads then missed on 512 pages per layer.)
/// </para>
/// <para>
/// The hardware prefetcher does little on these hosts, and at depth the cache comes from memory (the weights streamed
/// through the caches since the last token), so both passes prefetch: the keys one block ahead, the values eight
/// positions ahead, whole rows in the first pass over them (decode at depth 1536: 5–10 % faster).
/// </para>
/// <para>The caches hold <typeparamref name="T"/> elements in <typeparamref name="TElement"/>'s format (f32, or bf16 widened as loaded).</para>
/// </summary>
internal sealed class AttentionWork<T, TElement>(int heads, int kvHeads, int headDim, int capacity) : IParallelWork
    where T : unmanaged where TElement : struct, IKvElement<T>
{
    /// <summary>Positions per key block: one 64-byte line of floats (32 bytes of bf16) per dimension.</summary>
    public const int BlockPositions = 16;

    [ThreadStatic] private static float[]? _scratch;

    private int _blocks = Blocks(capacity);
    private float[]? _q, _output;
    private T[]? _keys, _values;
    private int _position;

    /// <summary>Elements in one layer's key or value cache: the positions rounded up to whole key blocks.</summary>
    public int CacheLength => kvHeads * _blocks * BlockPositions * headDim;

    /// <summary>Positions the caches laid out by <see cref="KeyIndex"/> and <see cref="ValueIndex"/> hold now.</summary>
    public int Capacity => _blocks * BlockPositions;

    /// <summary>
    /// Replaces every layer's key and value cache by one that holds <paramref name="capacity"/> positions, the first
    /// <paramref name="positions"/> copied over (nothing happens when they hold that many already). Both layouts keep
    /// a KV head's positions in one run of <c>blocks · BlockPositions · headDim</c> elements, so each head's run moves as a whole.
    /// </summary>
    public void Grow(T[][] keyCaches, T[][] valueCaches, int positions, int capacity)
    {
        int blocks = Blocks(capacity);
        if (blocks <= _blocks) return;
        int oldRun = _blocks * BlockPositions * headDim, newRun = blocks * BlockPositions * headDim;
        int used = Blocks(positions) * BlockPositions * headDim;
        foreach (var caches in (ReadOnlySpan<T[][]>)[keyCaches, valueCaches])
            for (int l = 0; l < caches.Length; l++)
            {
                var grown = new T[checked(kvHeads * newRun)];
                for (int kvHead = 0; kvHead < kvHeads; kvHead++) Array.Copy(caches[l], kvHead * oldRun, grown, kvHead * newRun, used);
                caches[l] = grown;
            }
        _blocks = blocks;
    }

    /// <summary>Key blocks holding positions 0…length-1.</summary>
    private static int Blocks(int length) => (length + BlockPositions - 1) / BlockPositions;

    /// <summary>Where key (kvHead, dim, position) lives in a layer's key cache.</summary>
    public int KeyIndex(int kvHead, int dim, int position) =>
        ((kvHead * _blocks + position / BlockPositions) * headDim + dim) * BlockPositions + position % BlockPositions;

    /// <summary>Where value (kvHead, dim, position) lives in a layer's value cache.</summary>
    public int ValueIndex(int kvHead, int dim, int position) => (kvHead * _blocks * BlockPositions + position) * headDim + dim;

    /// <summary>Appends T tokens' keys ([T, kvHeads*headDim]) at positions start…start+T-1.</summary>
    public void StoreKeys(ReadOnlySpan<float> source, T[] cache, int start, int tokens)
    {
        int kvDim = kvHeads * headDim;
        for (int t = 0; t < tokens; t++)
            for (int kvHead = 0; kvHead < kvHeads; kvHead++)
                // Dimension d of a position sits BlockPositions elements after dimension d − 1.
                Put(source.Slice(t * kvDim + kvHead * headDim, headDim), cache.AsSpan(KeyIndex(kvHead, 0, start + t)), BlockPositions);
    }

    /// <summary>Appends T tokens' values ([T, kvHeads*headDim]) at positions start…start+T-1.</summary>
    public void StoreValues(ReadOnlySpan<float> source, T[] cache, int start, int tokens)
    {
        int kvDim = kvHeads * headDim;
        for (int t = 0; t < tokens; t++)
            for (int kvHead = 0; kvHead < kvHeads; kvHead++)
                Put(source.Slice(t * kvDim + kvHead * headDim, headDim), cache.AsSpan(ValueIndex(kvHead, 0, start + t)), 1);
    }

    /// <summary>One position's dimensions into the cache in the element format, <paramref name="stride"/> elements apart.</summary>
    private static void Put(ReadOnlySpan<float> from, Span<T> to, int stride)
    {
        for (int d = 0; d < from.Length; d++) to[d * stride] = TElement.From(from[d]);
    }

    /// <summary>q: [T, heads*headDim] at positions start..start+T-1; the cache already holds them; output like q.</summary>
    public void Run(WorkerPool pool, float[] q, T[] keys, T[] values, float[] output, int start, int tokens)
    {
        (_q, _keys, _values, _output, _position) = (q, keys, values, output, start);
        try { pool.Run(this, tokens * kvHeads); }
        finally { (_q, _keys, _values, _output) = (null, null, null, null); }
    }

    public unsafe void Execute(int startItem, int endItem)
    {
        int padded = _blocks * BlockPositions, group = heads / kvHeads, qDim = heads * headDim;
        var scratch = _scratch is { } s && s.Length >= group * (padded + headDim) ? s : (_scratch = new float[group * (padded + headDim)]);
        float scale = 1f / MathF.Sqrt(headDim);
        fixed (float* scores = scratch, queries = _q, output = _output)
        fixed (T* keys = _keys, values = _values)
        {
            // Per head of the group: its scores (padded to whole blocks), then its scaled query.
            float* query = scores + group * padded;
            for (int item = startItem; item < endItem; item++)
            {
                int t = item / kvHeads, kvHead = item % kvHeads, firstHead = kvHead * group;
                int length = _position + t + 1;
                float* headQueries = queries + t * qDim + firstHead * headDim, headOutputs = output + t * qDim + firstHead * headDim;
                T* kvKeys = keys + KeyIndex(kvHead, 0, 0), kvValues = values + ValueIndex(kvHead, 0, 0);
                // The 1/√d scale goes on the queries, so the scores come out scaled.
                TensorPrimitives.Multiply(new ReadOnlySpan<float>(headQueries, group * headDim), scale, new Span<float>(query, group * headDim));
                // Eight or four heads per pass over the keys and values, then any left one at a time. Scores past the
                // newest position (the rest of its block) are computed but never used.
                int h = 0;
                if (Vector512.IsHardwareAccelerated)
                    for (; h + 8 <= group; h += 8)
                        HeadsTogether<EightLineSums>(kvKeys, kvValues, query + h * headDim, scores + h * padded, padded, length, headOutputs + h * headDim);
                for (; h + 4 <= group; h += 4)
                    HeadsTogether<FourLineSums>(kvKeys, kvValues, query + h * headDim, scores + h * padded, padded, length, headOutputs + h * headDim);
                for (; h < group; h++)
                {
                    Scores(kvKeys, query + h * headDim, scores + h * padded, length);
                    Softmax.InPlace(new Span<float>(scores + h * padded, length));
                    WeightedSum(kvValues, scores + h * padded, length, headOutputs + h * headDim);
                }
            }
        }
    }

    /// <summary>
    /// Attention of <typeparamref name="TSums"/>.Heads query heads (queries and outputs headDim apart, scores
    /// <paramref name="stride"/> apart) over one KV head: one pass over the keys, the softmaxes, one pass over the values.
    /// </summary>
    private unsafe void HeadsTogether<TSums>(T* keys, T* values, float* query, float* scores, int stride, int length, float* output)
        where TSums : struct, ILineSums
    {
        ScoresOfSeveral<TSums>(keys, query, scores, stride, length);
        for (int k = 0; k < TSums.Heads; k++) Softmax.InPlace(new Span<float>(scores + k * stride, length));
        WeightedSumOfSeveral<TSums>(values, scores, stride, length, output);
    }

    /// <summary>
    /// <see cref="Scores"/> for <typeparamref name="TSums"/>.Heads heads (queries headDim apart, scores
    /// <paramref name="stride"/> apart) in one pass over the keys: each key line is loaded once for all of them.
    /// </summary>
    private unsafe void ScoresOfSeveral<TSums>(T* keys, float* query, float* scores, int stride, int length) where TSums : struct, ILineSums
    {
        for (int b = 0, blocks = Blocks(length); b < blocks; b++, keys += headDim * BlockPositions, scores += BlockPositions)
        {
            var sums = default(TSums);
            for (int d = 0; d < headDim; d++)
            {
                PrefetchNextBlock(keys + d * BlockPositions);
                sums.Add<T, TElement>(keys + d * BlockPositions, query + d, headDim);
            }
            sums.Store(scores, stride);
        }
    }

    /// <summary>
    /// scores[16b + j] = Σ_d K[b][d][j] · q[d]. Per block two 8-wide halves, each summed in two chains (even and odd
    /// dimensions) so consecutive multiply-adds don't wait on each other.
    /// </summary>
    private unsafe void Scores(T* keys, float* query, float* scores, int length)
    {
        for (int b = 0, blocks = Blocks(length); b < blocks; b++, keys += headDim * BlockPositions, scores += BlockPositions)
        {
            Vector256<float> low0 = default, high0 = default, low1 = default, high1 = default;
            int d = 0;
            for (; d + 1 < headDim; d += 2)
            {
                T* k = keys + d * BlockPositions;
                PrefetchNextBlock(k);
                PrefetchNextBlock(k + BlockPositions);
                var q0 = Vector256.Create(query[d]);
                var q1 = Vector256.Create(query[d + 1]);
                low0 = Vector256.FusedMultiplyAdd(TElement.Load8(k), q0, low0);
                high0 = Vector256.FusedMultiplyAdd(TElement.Load8(k + 8), q0, high0);
                low1 = Vector256.FusedMultiplyAdd(TElement.Load8(k + 16), q1, low1);
                high1 = Vector256.FusedMultiplyAdd(TElement.Load8(k + 24), q1, high1);
            }
            if (d < headDim)
            {
                var q0 = Vector256.Create(query[d]);
                low0 = Vector256.FusedMultiplyAdd(TElement.Load8(keys + d * BlockPositions), q0, low0);
                high0 = Vector256.FusedMultiplyAdd(TElement.Load8(keys + d * BlockPositions + 8), q0, high0);
            }
            (low0 + low1).Store(scores);
            (high0 + high1).Store(scores + 8);
        }
    }

    /// <summary>
    /// <see cref="WeightedSum"/> for <typeparamref name="TSums"/>.Heads heads (weights <paramref name="stride"/> apart,
    /// outputs headDim apart) in one pass over the values per 16 dimensions: each value line is loaded once for all.
    /// </summary>
    private unsafe void WeightedSumOfSeveral<TSums>(T* values, float* weights, int stride, int length, float* output) where TSums : struct, ILineSums
    {
        int d = 0;
        for (; d + 16 <= headDim; d += 16)
        {
            var sums = default(TSums);
            T* v = values + d;
            for (int p = 0; p < length; p++, v += headDim)
            {
                if (d == 0) PrefetchRowAhead(v);
                sums.Add<T, TElement>(v, weights + p, stride);
            }
            sums.Store(output + d, headDim);
        }
        for (; d < headDim; d++)
            for (int h = 0; h < TSums.Heads; h++)
            {
                float sum = 0;
                for (int p = 0; p < length; p++) sum += weights[h * stride + p] * TElement.ToSingle(values[(long)p * headDim + d]);
                output[h * headDim + d] = sum;
            }
    }

    /// <summary>Running sums of 16-element lines, one per head of a pass, each line scaled by that head's factor.</summary>
    private unsafe interface ILineSums
    {
        static abstract int Heads { get; }

        /// <summary>Sum k += line · factors[k · stride] for every head k.</summary>
        void Add<TLine, TLineElement>(TLine* line, float* factors, int stride) where TLine : unmanaged where TLineElement : struct, IKvElement<TLine>;

        /// <summary>Sum k's 16 floats to <paramref name="destination"/> + k · <paramref name="stride"/>.</summary>
        void Store(float* destination, int stride);
    }

    /// <summary>Four heads in two 8-wide halves each (eight 256-bit registers).</summary>
    private unsafe struct FourLineSums : ILineSums
    {
        public static int Heads => 4;

        private Vector256<float> _low0, _high0, _low1, _high1, _low2, _high2, _low3, _high3;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Add<TLine, TLineElement>(TLine* line, float* factors, int stride) where TLine : unmanaged where TLineElement : struct, IKvElement<TLine>
        {
            var low = TLineElement.Load8(line);
            var high = TLineElement.Load8(line + 8);
            var f0 = Vector256.Create(factors[0]);
            var f1 = Vector256.Create(factors[stride]);
            var f2 = Vector256.Create(factors[2 * stride]);
            var f3 = Vector256.Create(factors[3 * stride]);
            _low0 = Vector256.FusedMultiplyAdd(low, f0, _low0);
            _high0 = Vector256.FusedMultiplyAdd(high, f0, _high0);
            _low1 = Vector256.FusedMultiplyAdd(low, f1, _low1);
            _high1 = Vector256.FusedMultiplyAdd(high, f1, _high1);
            _low2 = Vector256.FusedMultiplyAdd(low, f2, _low2);
            _high2 = Vector256.FusedMultiplyAdd(high, f2, _high2);
            _low3 = Vector256.FusedMultiplyAdd(low, f3, _low3);
            _high3 = Vector256.FusedMultiplyAdd(high, f3, _high3);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Store(float* destination, int stride)
        {
            _low0.Store(destination);
            _high0.Store(destination + 8);
            _low1.Store(destination + stride);
            _high1.Store(destination + stride + 8);
            _low2.Store(destination + 2 * stride);
            _high2.Store(destination + 2 * stride + 8);
            _low3.Store(destination + 3 * stride);
            _high3.Store(destination + 3 * stride + 8);
        }
    }

    /// <summary>Eight heads in one 16-wide register each (eight 512-bit registers), for CPUs with 512-bit vectors.</summary>
    private unsafe struct EightLineSums : ILineSums
    {
        private Vector512<float> _sum0, _sum1, _sum2, _sum3, _sum4, _sum5, _sum6, _sum7;

        public static int Heads => 8;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Add<TLine, TLineElement>(TLine* line, float* factors, int stride) where TLine : unmanaged where TLineElement : struct, IKvElement<TLine>
        {
            var v = TLineElement.Load16(line);
            _sum0 = Vector512.FusedMultiplyAdd(v, Vector512.Create(factors[0]), _sum0);
            _sum1 = Vector512.FusedMultiplyAdd(v, Vector512.Create(factors[stride]), _sum1);
            _sum2 = Vector512.FusedMultiplyAdd(v, Vector512.Create(factors[2 * stride]), _sum2);
            _sum3 = Vector512.FusedMultiplyAdd(v, Vector512.Create(factors[3 * stride]), _sum3);
            _sum4 = Vector512.FusedMultiplyAdd(v, Vector512.Create(factors[4 * stride]), _sum4);
            _sum5 = Vector512.FusedMultiplyAdd(v, Vector512.Create(factors[5 * stride]), _sum5);
            _sum6 = Vector512.FusedMultiplyAdd(v, Vector512.Create(factors[6 * stride]), _sum6);
            _sum7 = Vector512.FusedMultiplyAdd(v, Vector512.Create(factors[7 * stride]), _sum7);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Store(float* destination, int stride)
        {
            _sum0.Store(destination);
            _sum1.Store(destination + stride);
            _sum2.Store(destination + 2 * stride);
            _sum3.Store(destination + 3 * stride);
            _sum4.Store(destination + 4 * stride);
            _sum5.Store(destination + 5 * stride);
            _sum6.Store(destination + 6 * stride);
            _sum7.Store(destination + 7 * stride);
        }
    }

    /// <summary>The same dimension's line in the next key block (past the last block it is only a wasted hint).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe void PrefetchNextBlock(T* line)
    {
        if (Sse.IsSupported) Sse.Prefetch0(line + headDim * BlockPositions); // a constant to the JIT: nothing elsewhere
    }

    /// <summary>Every line of the value row eight positions after <paramref name="row"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe void PrefetchRowAhead(T* row) => StreamPrefetch.Range((byte*)(row + 8 * headDim), headDim * sizeof(T));

    /// <summary>output[d] = Σ_{p &lt; length} weights[p] · V[p][d]: per position, a multiply-add across the dimensions.</summary>
    private unsafe void WeightedSum(T* values, float* weights, int length, float* output)
    {
        int d = 0;
        for (; d + 32 <= headDim; d += 32)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            T* v = values + d;
            for (int p = 0; p < length; p++, v += headDim)
            {
                if (d == 0) PrefetchRowAhead(v);
                var w = Vector256.Create(weights[p]);
                a0 = Vector256.FusedMultiplyAdd(TElement.Load8(v), w, a0);
                a1 = Vector256.FusedMultiplyAdd(TElement.Load8(v + 8), w, a1);
                a2 = Vector256.FusedMultiplyAdd(TElement.Load8(v + 16), w, a2);
                a3 = Vector256.FusedMultiplyAdd(TElement.Load8(v + 24), w, a3);
            }
            a0.Store(output + d);
            a1.Store(output + d + 8);
            a2.Store(output + d + 16);
            a3.Store(output + d + 24);
        }
        for (; d < headDim; d++)
        {
            float sum = 0;
            for (int p = 0; p < length; p++) sum += weights[p] * TElement.ToSingle(values[(long)p * headDim + d]);
            output[d] = sum;
        }
    }
}
