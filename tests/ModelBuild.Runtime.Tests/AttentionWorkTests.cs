using ModelBuild.Runtime.Llama;
using ModelBuild.Runtime.Threading;

namespace ModelBuild.Runtime.Tests;

/// <summary>Attention over the blocked KV cache against softmax(q·k/√d)·v written out naively.</summary>
public class AttentionWorkTests
{
    private const int Heads = 4, KvHeads = 2, HeadDim = 12, MaxPositions = 45; // 45: the last block is partial

    // Query heads per KV head of 2 (one at a time), 6 (four together, then two), 8 (twice four); head sizes that
    // leave remainders after the 32- and 16-wide value loops.
    [Theory]
    [InlineData(4, 2, 12, 1, false)] // decode: one position at a time, across block boundaries
    [InlineData(4, 2, 12, 7, false)] // prefill chunks that start mid-block
    [InlineData(12, 2, 40, 1, false)]
    [InlineData(12, 2, 40, 5, false)]
    [InlineData(8, 1, 64, 1, false)]
    [InlineData(8, 1, 64, 16, false)]
    [InlineData(4, 2, 12, 7, true)] // bf16 caches: against the naive attention over bf16-rounded keys and values
    [InlineData(12, 2, 40, 1, true)]
    [InlineData(8, 1, 64, 16, true)]
    public void Matches_naive_attention_at_every_length(int heads, int kvHeads, int headDim, int tokensPerStep, bool bf16)
    {
        if (bf16) MatchesNaive<ushort, BFloat16Kv>(heads, kvHeads, headDim, tokensPerStep);
        else MatchesNaive<float, SingleKv>(heads, kvHeads, headDim, tokensPerStep);
    }

    private static void MatchesNaive<T, TElement>(int heads, int kvHeads, int headDim, int tokensPerStep)
        where T : unmanaged where TElement : struct, IKvElement<T>
    {
        var rng = new Random(tokensPerStep);
        int kvDim = kvHeads * headDim, qDim = heads * headDim;
        var keys = RandomRows(rng, MaxPositions, kvDim);
        var values = RandomRows(rng, MaxPositions, kvDim);
        var queries = RandomRows(rng, MaxPositions, qDim);
        var work = new AttentionWork<T, TElement>(heads, kvHeads, headDim, MaxPositions);
        // What the cache holds is what the naive attention sees (f32 unchanged, bf16 rounded).
        var storedKeys = keys.Select(k => TElement.ToSingle(TElement.From(k))).ToArray();
        var storedValues = values.Select(v => TElement.ToSingle(TElement.From(v))).ToArray();
        // The cache starts as garbage (an earlier, broken sequence): slots past the newest position must not leak in.
        var keyCache = new T[work.CacheLength];
        var valueCache = new T[work.CacheLength];
        Array.Fill(keyCache, TElement.From(float.NaN));
        Array.Fill(valueCache, TElement.From(float.NaN));
        using var pool = new WorkerPool(2);
        for (int start = 0; start < MaxPositions; start += tokensPerStep)
        {
            int n = Math.Min(tokensPerStep, MaxPositions - start);
            work.StoreKeys(keys.AsSpan(start * kvDim, n * kvDim), keyCache, start, n);
            work.StoreValues(values.AsSpan(start * kvDim, n * kvDim), valueCache, start, n);
            var q = queries.AsSpan(start * qDim, n * qDim).ToArray();
            var output = new float[n * qDim];
            work.Run(pool, q, keyCache, valueCache, output, start, n);
            for (int t = 0; t < n; t++)
            {
                var expected = Naive(queries, storedKeys, storedValues, start + t, heads, kvHeads, headDim);
                for (int i = 0; i < qDim; i++) Assert.Equal(expected[i], output[t * qDim + i], 1e-5f);
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    public void A_cache_that_grows_as_positions_arrive_gives_the_same_attention(int tokensPerStep)
    {
        var rng = new Random(40 + tokensPerStep);
        int kvDim = KvHeads * HeadDim, qDim = Heads * HeadDim;
        var keys = RandomRows(rng, MaxPositions, kvDim);
        var values = RandomRows(rng, MaxPositions, kvDim);
        var queries = RandomRows(rng, MaxPositions, qDim);
        var whole = new AttentionWork<float, SingleKv>(Heads, KvHeads, HeadDim, MaxPositions);
        var growing = new AttentionWork<float, SingleKv>(Heads, KvHeads, HeadDim, 1);
        float[][] wholeKeys = [new float[whole.CacheLength]], wholeValues = [new float[whole.CacheLength]];
        float[][] growingKeys = [new float[growing.CacheLength]], growingValues = [new float[growing.CacheLength]];
        Assert.Equal(AttentionWork<float, SingleKv>.BlockPositions, growing.Capacity);
        using var pool = new WorkerPool(2);
        for (int start = 0; start < MaxPositions; start += tokensPerStep)
        {
            int n = Math.Min(tokensPerStep, MaxPositions - start);
            growing.Grow(growingKeys, growingValues, start, start + n);
            Assert.True(growing.Capacity >= start + n);
            Assert.Equal(growing.CacheLength, growingKeys[0].Length);
            var outputs = new List<float[]>();
            foreach (var (work, keyCache, valueCache) in new[] { (whole, wholeKeys[0], wholeValues[0]), (growing, growingKeys[0], growingValues[0]) })
            {
                work.StoreKeys(keys.AsSpan(start * kvDim, n * kvDim), keyCache, start, n);
                work.StoreValues(values.AsSpan(start * kvDim, n * kvDim), valueCache, start, n);
                var output = new float[n * qDim];
                work.Run(pool, queries.AsSpan(start * qDim, n * qDim).ToArray(), keyCache, valueCache, output, start, n);
                outputs.Add(output);
            }
            Assert.Equal(outputs[0], outputs[1]); // bit for bit: the same positions in the same order
        }
    }

    [Fact]
    public void Growing_moves_every_stored_key_and_value_to_its_new_index()
    {
        var work = new AttentionWork<float, SingleKv>(Heads, KvHeads, HeadDim, 20);
        float[][] keys = [new float[work.CacheLength], new float[work.CacheLength]], values = [new float[work.CacheLength], new float[work.CacheLength]];
        const int stored = 27;
        float Mark(int layer, int kv, int d, int p, int which) => 1 + which + 10 * layer + 100 * kv + 1000 * d + 100_000 * p;
        for (int layer = 0; layer < 2; layer++)
            for (int kv = 0; kv < KvHeads; kv++)
                for (int d = 0; d < HeadDim; d++)
                    for (int p = 0; p < stored; p++)
                    {
                        keys[layer][work.KeyIndex(kv, d, p)] = Mark(layer, kv, d, p, 0);
                        values[layer][work.ValueIndex(kv, d, p)] = Mark(layer, kv, d, p, 1);
                    }
        var before = keys[1];
        work.Grow(keys, values, stored, 100);
        Assert.Equal(112, work.Capacity); // whole blocks of 16
        Assert.NotSame(before, keys[1]);
        for (int layer = 0; layer < 2; layer++)
            for (int kv = 0; kv < KvHeads; kv++)
                for (int d = 0; d < HeadDim; d++)
                    for (int p = 0; p < stored; p++)
                    {
                        Assert.Equal(Mark(layer, kv, d, p, 0), keys[layer][work.KeyIndex(kv, d, p)]);
                        Assert.Equal(Mark(layer, kv, d, p, 1), values[layer][work.ValueIndex(kv, d, p)]);
                    }
        var grown = keys[0];
        work.Grow(keys, values, stored, 50); // already holds that many: nothing moves
        Assert.Same(grown, keys[0]);
    }

    [Fact]
    public void Key_and_value_indices_cover_every_slot_once()
    {
        var work = new AttentionWork<float, SingleKv>(Heads, KvHeads, HeadDim, MaxPositions);
        foreach (var index in new Func<int, int, int, int>[] { work.KeyIndex, work.ValueIndex })
        {
            var seen = new bool[work.CacheLength];
            for (int kv = 0; kv < KvHeads; kv++)
                for (int d = 0; d < HeadDim; d++)
                    for (int p = 0; p < 48; p++) // positions rounded up to whole blocks of 16
                    {
                        int i = index(kv, d, p);
                        Assert.False(seen[i]);
                        seen[i] = true;
                    }
            Assert.All(seen, Assert.True);
        }
        // A key block holds one dimension's 16 positions in a line; a value row holds one position's dimensions.
        Assert.Equal(work.KeyIndex(1, 5, 16) + 15, work.KeyIndex(1, 5, 31));
        Assert.Equal(work.ValueIndex(1, 0, 20) + HeadDim - 1, work.ValueIndex(1, HeadDim - 1, 20));
    }

    [Fact]
    public void Bf16_elements_round_to_nearest_even_and_widen_exactly()
    {
        Assert.Equal(0x3F80, BFloat16Kv.From(1f));
        Assert.Equal(0x3F80, BFloat16Kv.From(BitConverter.UInt32BitsToSingle(0x3F808000))); // a tie rounds to the even 0x3F80
        Assert.Equal(0x3F82, BFloat16Kv.From(BitConverter.UInt32BitsToSingle(0x3F818000))); // a tie rounds to the even 0x3F82
        Assert.Equal(0x3F81, BFloat16Kv.From(BitConverter.UInt32BitsToSingle(0x3F808001))); // past the tie rounds up
        Assert.Equal(0xBF80, BFloat16Kv.From(-1f));
        Assert.True(float.IsNaN(BFloat16Kv.ToSingle(BFloat16Kv.From(float.NaN))));
        Assert.True(float.IsNaN(BFloat16Kv.ToSingle(BFloat16Kv.From(BitConverter.UInt32BitsToSingle(0x7FFFFFFF)))));
        var rng = new Random(9);
        var bits = new ushort[16];
        for (int i = 0; i < 16; i++) bits[i] = BFloat16Kv.From(rng.NextSingle() * 200 - 100);
        unsafe
        {
            fixed (ushort* p = bits)
            {
                var eight = BFloat16Kv.Load8(p);
                for (int i = 0; i < 8; i++) Assert.Equal(BFloat16Kv.ToSingle(bits[i]), eight[i]);
                if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated)
                {
                    var sixteen = BFloat16Kv.Load16(p);
                    for (int i = 0; i < 16; i++) Assert.Equal(BFloat16Kv.ToSingle(bits[i]), sixteen[i]);
                }
            }
        }
    }

    private static float[] RandomRows(Random rng, int rows, int cols) =>
        Enumerable.Range(0, rows * cols).Select(_ => rng.NextSingle() * 4 - 2).ToArray();

    private static float[] Naive(float[] queries, float[] keys, float[] values, int position, int heads, int kvHeads, int headDim)
    {
        int kvDim = kvHeads * headDim, qDim = heads * headDim, group = heads / kvHeads;
        var output = new float[qDim];
        for (int head = 0; head < heads; head++)
        {
            int kv = head / group;
            var scores = new double[position + 1];
            for (int p = 0; p <= position; p++)
            {
                double dot = 0;
                for (int d = 0; d < headDim; d++) dot += queries[position * qDim + head * headDim + d] * keys[p * kvDim + kv * headDim + d];
                scores[p] = dot / Math.Sqrt(headDim);
            }
            double max = scores.Max(), sum = scores.Sum(s => Math.Exp(s - max));
            for (int d = 0; d < headDim; d++)
            {
                double acc = 0;
                for (int p = 0; p <= position; p++) acc += Math.Exp(scores[p] - max) / sum * values[p * kvDim + kv * headDim + d];
                output[head * headDim + d] = (float)acc;
            }
        }
        return output;
    }
}
