using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using ModelBuild.Format.Config;
using ModelBuild.Runtime.Kernels;
using ModelBuild.Runtime.Threading;

namespace ModelBuild.Runtime.Llama;

/// <summary>
/// The Llama forward pass over packed weights with a KV cache (one sequence). Feed tokens in chunks of any
/// size; positions continue from the cache, and long inputs run in chunks of <see cref="ChunkTokens"/>.
/// Follows Hugging Face's LlamaModel: pre-norm RMSNorm, RoPE in the half-split layout, grouped-query
/// attention, SwiGLU MLP. All buffers are made up front: a decode step allocates nothing. With the weights on an
/// ILGPU device the whole chunk runs there (<see cref="Gpu.IlgpuForward"/>); dispose the session to free its device buffers.
/// </summary>
public sealed class LlamaForward : IDisposable
{
    public const int ChunkTokens = 128;

    private readonly LlamaConfig _c;
    private readonly LlamaWeights _w;
    private readonly MatMul _matMul;
    private readonly IKvCache _kv;
    private readonly double[] _inverseFrequencies;
    private float[] _ropeCos, _ropeSin; // [positions the KV cache holds, headDim/2]: grown with it
    // Workspace for one chunk of tokens.
    private readonly float[] _x, _q, _k, _v, _o, _up;
    private readonly ActivationBatch _normed, _attnOut, _mlpHidden;
    private readonly Gpu.IlgpuForward? _onDevice;
    private readonly int _chunkTokens;

    public int MaxPositions { get; }
    public int Position { get; private set; }
    public KernelPath KernelPath => _matMul.Path;

    public LlamaForward(LlamaConfig config, LlamaWeights weights, int? maxPositions = null, KernelPath path = KernelPath.Auto, WorkerPool? pool = null)
        : this(config, weights, maxPositions, path, pool, initialCapacity: null)
    {
    }

    /// <summary>As the public constructor, with the host KV cache's first capacity in positions (tests start it small or whole).</summary>
    internal LlamaForward(LlamaConfig config, LlamaWeights weights, int? maxPositions, KernelPath path, WorkerPool? pool, int? initialCapacity)
    {
        _c = config;
        _w = weights;
        _matMul = new MatMul(pool ?? WorkerPool.Shared, path);
        MaxPositions = maxPositions ?? config.MaxPositionEmbeddings;
        int h = config.HiddenSize, kvDim = config.NumKeyValueHeads * config.HeadDim, qDim = config.NumAttentionHeads * config.HeadDim;
        bool onDevice = weights.LmHead is Gpu.IlgpuMatrix;
        int chunk = _chunkTokens = Math.Min(ChunkTokens, MaxPositions), hostChunk = onDevice ? 1 : chunk;
        _x = new float[hostChunk * h];
        _q = new float[hostChunk * qDim];
        _k = new float[hostChunk * kvDim];
        _v = new float[hostChunk * kvDim];
        _o = new float[hostChunk * h];
        _up = new float[hostChunk * config.IntermediateSize];
        _normed = new ActivationBatch(hostChunk, h);
        _attnOut = new ActivationBatch(hostChunk, qDim);
        _mlpHidden = new ActivationBatch(hostChunk, config.IntermediateSize);

        // On a device the KV cache, activations and attention live there; the host keeps none of their buffers. Either way
        // the cache starts at one chunk of positions and grows as the context does (EnsureCapacity): a model's full
        // context can be far more than a session uses (131 072 positions, 8.6 GB of float cache, for a Llama-3.2-1B).
        int capacity = Math.Min(MaxPositions, initialCapacity ?? ChunkTokens), hostCapacity = onDevice ? 0 : capacity;
        int layers = config.NumHiddenLayers, heads = config.NumAttentionHeads, kvHeads = config.NumKeyValueHeads;
        // Where the key and value projections already round their inputs to int8 (quantized weights on a SIMD path), the
        // cache keeps keys and values in bf16 (BFloat16Kv: half the bytes attention reads at depth); float weights and
        // the scalar path, held to the reference within 2e-3, keep them in f32.
        bool roundedInputs = weights.Layers.All(l => l.K.UsesInt8Activations(_matMul.Path, _normed) && l.V.UsesInt8Activations(_matMul.Path, _normed));
        _kv = roundedInputs
            ? new KvCache<ushort, BFloat16Kv>(layers, heads, kvHeads, config.HeadDim, hostCapacity)
            : new KvCache<float, SingleKv>(layers, heads, kvHeads, config.HeadDim, hostCapacity);

        _inverseFrequencies = RopeFrequencies.InverseFrequencies(config);
        _ropeCos = _ropeSin = [];
        GrowRopeTables(onDevice ? capacity : _kv.Capacity);
        if (weights.LmHead is Gpu.IlgpuMatrix head)
            _onDevice = new Gpu.IlgpuForward(config, weights, head.Device, capacity, chunk, _ropeCos, _ropeSin);
    }

    /// <summary>Whether the host KV cache keeps keys and values in bf16 (quantized weights on a SIMD path) rather than f32.</summary>
    internal bool CachesBFloat16 => _kv is KvCache<ushort, BFloat16Kv>;

    /// <summary>Positions the KV cache (on the host or the device) holds before it must grow.</summary>
    internal int CacheCapacity => _onDevice?.Capacity ?? _kv.Capacity;

    /// <summary>
    /// Grows the KV cache and the RoPE tables to hold <paramref name="positions"/>: to at least twice what they held (up
    /// to MaxPositions), so a long decode grows them a few times, each costing one copy of the cache so far.
    /// </summary>
    private void EnsureCapacity(int positions)
    {
        if (positions <= CacheCapacity) return;
        int capacity = Math.Min(MaxPositions, Math.Max(positions, 2 * CacheCapacity));
        if (_onDevice is not null)
        {
            GrowRopeTables(capacity);
            _onDevice.Grow(Position, capacity, _ropeCos, _ropeSin);
            return;
        }
        _kv.Grow(Position, capacity);
        GrowRopeTables(_kv.Capacity);
    }

    /// <summary>Extends the RoPE tables to <paramref name="positions"/> positions (a cache's capacity may pass MaxPositions by a part block).</summary>
    private void GrowRopeTables(int positions)
    {
        int half = _c.HeadDim / 2, from = _ropeCos.Length / half;
        if (positions <= from) return;
        Array.Resize(ref _ropeCos, positions * half);
        Array.Resize(ref _ropeSin, positions * half);
        for (int p = from; p < positions; p++)
            for (int i = 0; i < half; i++)
            {
                // Compute in float32 as the reference does, so long contexts agree.
                float angle = (float)p * (float)_inverseFrequencies[i];
                _ropeCos[p * half + i] = MathF.Cos(angle);
                _ropeSin[p * half + i] = MathF.Sin(angle);
            }
    }

    /// <summary>Frees the device buffers of a session on an ILGPU device (nothing to do on the CPU).</summary>
    public void Dispose() => _onDevice?.Dispose();

    public void Reset() => Position = 0;

    /// <summary>
    /// Runs <paramref name="tokens"/> at the next positions. Writes logits for every token ([T, vocab]) when
    /// <paramref name="allLogits"/> is set, else only for the last token ([vocab]).
    /// </summary>
    public void Forward(ReadOnlySpan<int> tokens, Span<float> logits, bool allLogits = false)
    {
        int T = tokens.Length, vocab = _c.VocabSize;
        if (T == 0) throw new ArgumentException("no tokens to run.");
        if (Position + T > MaxPositions)
            throw new InvalidOperationException($"context is full: {Position} + {T} tokens exceed {MaxPositions} positions.");
        if (logits.Length < (allLogits ? T : 1) * vocab) throw new ArgumentException("the logits buffer is too small.", nameof(logits));
        foreach (int id in tokens)
            if ((uint)id >= (uint)vocab) throw new ArgumentOutOfRangeException(nameof(tokens), $"token id {id} is outside the vocabulary ({vocab}).");
        int chunk = _chunkTokens;
        for (int start = 0; start < T; start += chunk)
        {
            int n = Math.Min(chunk, T - start);
            bool last = start + n == T;
            if (allLogits) ForwardChunk(tokens.Slice(start, n), logits.Slice(start * vocab, n * vocab), allLogits: true);
            else ForwardChunk(tokens.Slice(start, n), last ? logits : default, allLogits: false);
        }
    }

    private void ForwardChunk(ReadOnlySpan<int> tokens, Span<float> logits, bool allLogits)
    {
        EnsureCapacity(Position + tokens.Length);
        if (_onDevice is not null)
        {
            _onDevice.ForwardChunk(tokens, Position, logits, allLogits);
            Position += tokens.Length;
            return;
        }
        int T = tokens.Length, h = _c.HiddenSize;
        for (int t = 0; t < T; t++) _w.Embedding.DequantizeRow(tokens[t], _x.AsSpan(t * h, h));
        bool wantLogits = allLogits || !logits.IsEmpty;
        for (int l = 0; l < _c.NumHiddenLayers; l++) Block(l, T, lastWantsHead: wantLogits);

        if (wantLogits)
        {
            int first = allLogits ? 0 : T - 1, outTokens = T - first;
            _normed.Reset(outTokens);
            RmsNorm(_x.AsSpan(first * h, outTokens * h), _w.FinalNorm, _normed.Values, outTokens);
            _matMul.Multiply(_w.LmHead, _normed, logits);
        }
        Position += T;
    }

    /// <summary>
    /// One decoder layer. In decode each product names the one after it (<see cref="MatMul.WarmNext"/>), so a thread that
    /// would wait fetches the start of its next range instead.
    /// </summary>
    private void Block(int l, int T, bool lastWantsHead)
    {
        var w = _w.Layers[l];
        int h = _c.HiddenSize, hd = _c.HeadDim, nh = _c.NumAttentionHeads, nkv = _c.NumKeyValueHeads;
        int qDim = nh * hd, kvDim = nkv * hd, f = _c.IntermediateSize;
        var x = _x.AsSpan(0, T * h);
        bool decode = T == 1;

        _normed.Reset(T);
        RmsNorm(x, w.InputNorm, _normed.Values, T);
        if (decode) _matMul.WarmNext(w.O);
        _matMul.Multiply(_normed, new Product(w.Q, _q, w.QBias), new Product(w.K, _k, w.KBias), new Product(w.V, _v, w.VBias));
        for (int t = 0; t < T; t++)
        {
            int pos = Position + t;
            for (int head = 0; head < nh; head++) Rope(_q.AsSpan(t * qDim + head * hd, hd), pos);
            for (int head = 0; head < nkv; head++) Rope(_k.AsSpan(t * kvDim + head * hd, hd), pos);
        }
        _kv.Store(l, _k.AsSpan(0, T * kvDim), _v.AsSpan(0, T * kvDim), Position, T);

        _kv.Attend(_matMul.Pool, l, _q, _attnOut.Values, Position, T);
        _attnOut.Reset(T);
        if (decode) _matMul.WarmNext(w.Gate, w.Up);
        _matMul.Multiply(w.O, _attnOut, _o);
        TensorPrimitives.Add(x, _o.AsSpan(0, T * h), x);

        _normed.Reset(T);
        RmsNorm(x, w.PostAttentionNorm, _normed.Values, T);
        _mlpHidden.Reset(T);
        var gate = _mlpHidden.Values.AsSpan(0, T * f);
        var up = _up.AsSpan(0, T * f);
        if (decode) _matMul.WarmNext(w.Down);
        _matMul.Multiply(_normed, new Product(w.Gate, gate), new Product(w.Up, up));
        SwiGlu.InPlace(gate, up);
        if (decode && l + 1 < _c.NumHiddenLayers)
        {
            var n = _w.Layers[l + 1];
            _matMul.WarmNext(n.Q, n.K, n.V);
        }
        else if (decode && lastWantsHead) _matMul.WarmNext(_w.LmHead);
        _matMul.Multiply(w.Down, _mlpHidden, _o);
        TensorPrimitives.Add(x, _o.AsSpan(0, T * h), x);
    }

    /// <summary>Rotates the pairs (v[i], v[i + half]) by the position's angles; 8 pairs per step where vectors allow (same arithmetic).</summary>
    private void Rope(Span<float> v, int pos)
    {
        int half = v.Length / 2;
        var cos = _ropeCos.AsSpan(pos * half, half);
        var sin = _ropeSin.AsSpan(pos * half, half);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= half; i += 8)
            {
                var a = Vector256.Create<float>(v[i..]);
                var b = Vector256.Create<float>(v[(i + half)..]);
                var c = Vector256.Create<float>(cos[i..]);
                var s = Vector256.Create<float>(sin[i..]);
                (a * c - b * s).CopyTo(v[i..]);
                (b * c + a * s).CopyTo(v[(i + half)..]);
            }
        for (; i < half; i++)
        {
            float a = v[i], b = v[i + half];
            v[i] = a * cos[i] - b * sin[i];
            v[i + half] = b * cos[i] + a * sin[i];
        }
    }

    private void RmsNorm(ReadOnlySpan<float> x, float[] weight, Span<float> dst, int T)
    {
        int h = _c.HiddenSize;
        for (int t = 0; t < T; t++)
        {
            var row = x.Slice(t * h, h);
            float ms = TensorPrimitives.SumOfSquares(row) / h;
            float inv = 1f / MathF.Sqrt(ms + (float)_c.RmsNormEps);
            var d = dst.Slice(t * h, h);
            TensorPrimitives.Multiply(row, inv, d);
            TensorPrimitives.Multiply(d, weight, d);
        }
    }
}
