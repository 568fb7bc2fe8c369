using ILGPU;
using ILGPU.Runtime;
using ModelBuild.Format.Config;
using ModelBuild.Runtime.Llama;

namespace ModelBuild.Runtime.Gpu;

/// <summary>
/// The whole Llama forward on an ILGPU device: the chunk's embedding rows go up, the logits come back, and
/// everything between (norms, products, RoPE, KV cache, attention, SwiGLU, residuals) stays on the device.
/// The same steps in the same order as <see cref="LlamaForward"/>'s CPU path; buffers are made once per session.
/// </summary>
internal sealed class IlgpuForward : IDisposable
{
    private sealed record DeviceLayer(
        MemoryBuffer1D<float, Stride1D.Dense> InputNorm, MemoryBuffer1D<float, Stride1D.Dense> PostAttentionNorm,
        MemoryBuffer1D<float, Stride1D.Dense>? QBias, MemoryBuffer1D<float, Stride1D.Dense>? KBias, MemoryBuffer1D<float, Stride1D.Dense>? VBias,
        IlgpuMatrix Q, IlgpuMatrix K, IlgpuMatrix V, IlgpuMatrix O, IlgpuMatrix Gate, IlgpuMatrix Up, IlgpuMatrix Down)
    {
        // The layer's KV cache, [position][kvDim]: replaced by larger buffers as the context grows (Grow).
        public MemoryBuffer1D<float, Stride1D.Dense> Keys { get; set; } = null!;
        public MemoryBuffer1D<float, Stride1D.Dense> Values { get; set; } = null!;
    }

    private readonly LlamaConfig _c;
    private readonly LlamaWeights _w;
    private readonly IlgpuDevice _device;
    private readonly int _chunkTokens;
    private int _capacity;
    private readonly DeviceLayer[] _layers;
    private readonly IlgpuMatrix _lmHead;
    private readonly List<IDisposable> _buffers = [];
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _finalNorm, _x, _normed, _q, _k, _v, _attn, _o, _gate, _up, _logits;
    // RMSNorm's partial sums [chunk, NormSlices] and attention's softmax denominators [chunk, heads].
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _squareSums, _inverseSums;
    private const int NormSlices = 32;
    // Sized by the positions the cache holds: RoPE tables [capacity, headDim/2], scores [chunk, heads, capacity].
    private MemoryBuffer1D<float, Stride1D.Dense> _cos = null!, _sin = null!, _scores = null!;
    private readonly float[] _hostX;

    /// <summary>A session whose KV cache holds <paramref name="capacity"/> positions until <see cref="Grow"/>; the RoPE tables cover them.</summary>
    public IlgpuForward(LlamaConfig config, LlamaWeights weights, IlgpuDevice device, int capacity, int chunkTokens, float[] ropeCos, float[] ropeSin)
    {
        (_c, _w, _device, _chunkTokens) = (config, weights, device, chunkTokens);
        int h = config.HiddenSize, qDim = config.NumAttentionHeads * config.HeadDim, kvDim = config.NumKeyValueHeads * config.HeadDim;
        _layers = weights.Layers.Select(l => new DeviceLayer(
            Upload(l.InputNorm), Upload(l.PostAttentionNorm), UploadOrNull(l.QBias), UploadOrNull(l.KBias), UploadOrNull(l.VBias),
            OnDevice(l.Q), OnDevice(l.K), OnDevice(l.V), OnDevice(l.O), OnDevice(l.Gate), OnDevice(l.Up), OnDevice(l.Down))).ToArray();
        _lmHead = OnDevice(weights.LmHead);
        _finalNorm = Upload(weights.FinalNorm);
        _x = Allocate((long)chunkTokens * h);
        _normed = Allocate((long)chunkTokens * h);
        _q = Allocate((long)chunkTokens * qDim);
        _k = Allocate((long)chunkTokens * kvDim);
        _v = Allocate((long)chunkTokens * kvDim);
        _attn = Allocate((long)chunkTokens * qDim);
        _o = Allocate((long)chunkTokens * h);
        _gate = Allocate((long)chunkTokens * config.IntermediateSize);
        _up = Allocate((long)chunkTokens * config.IntermediateSize);
        _logits = Allocate((long)chunkTokens * config.VocabSize);
        _squareSums = Allocate((long)chunkTokens * NormSlices);
        _inverseSums = Allocate((long)chunkTokens * config.NumAttentionHeads);
        _hostX = new float[chunkTokens * h];
        Grow(0, capacity, ropeCos, ropeSin);
    }

    /// <summary>
    /// Makes the KV caches hold <paramref name="capacity"/> positions, the first <paramref name="positions"/> copied over on
    /// the device, with the RoPE tables (now covering them) uploaded again and the scores sized to match.
    /// </summary>
    public void Grow(int positions, int capacity, float[] ropeCos, float[] ropeSin)
    {
        if (capacity <= _capacity) return;
        long kvDim = (long)_c.NumKeyValueHeads * _c.HeadDim;
        foreach (var layer in _layers)
        {
            layer.Keys = Regrown(layer.Keys, capacity * kvDim, positions * kvDim);
            layer.Values = Regrown(layer.Values, capacity * kvDim, positions * kvDim);
        }
        Free(_cos);
        Free(_sin);
        Free(_scores);
        _cos = Upload(ropeCos);
        _sin = Upload(ropeSin);
        _scores = Allocate((long)_chunkTokens * _c.NumAttentionHeads * capacity);
        _capacity = capacity;
    }

    /// <summary>Positions the device KV cache holds.</summary>
    public int Capacity => _capacity;

    private MemoryBuffer1D<float, Stride1D.Dense> Regrown(MemoryBuffer1D<float, Stride1D.Dense>? old, long length, long kept)
    {
        var grown = Allocate(length);
        if (old is not null)
        {
            if (kept > 0) old.View.SubView(0, kept).CopyTo(grown.View.SubView(0, kept));
            Free(old);
        }
        return grown;
    }

    private void Free(MemoryBuffer1D<float, Stride1D.Dense>? buffer)
    {
        if (buffer is null) return;
        _buffers.Remove(buffer);
        buffer.Dispose();
    }

    private static IlgpuMatrix OnDevice(Weights.IWeightMatrix m) =>
        m as IlgpuMatrix ?? throw new InvalidOperationException("the device forward needs every matrix on the device.");

    private MemoryBuffer1D<float, Stride1D.Dense> Allocate(long length)
    {
        var buffer = _device.Accelerator.Allocate1D<float>(Math.Max(1, length));
        _buffers.Add(buffer);
        return buffer;
    }

    private MemoryBuffer1D<float, Stride1D.Dense> Upload(float[] values)
    {
        var buffer = _device.Accelerator.Allocate1D(values);
        _buffers.Add(buffer);
        return buffer;
    }

    private MemoryBuffer1D<float, Stride1D.Dense>? UploadOrNull(float[]? values) => values is null ? null : Upload(values);

    /// <summary>Runs <paramref name="tokens"/> at positions start…; writes the last token's logits, or every token's.</summary>
    public void ForwardChunk(ReadOnlySpan<int> tokens, int start, Span<float> logits, bool allLogits)
    {
        int T = tokens.Length, h = _c.HiddenSize;
        for (int t = 0; t < T; t++) _w.Embedding.DequantizeRow(tokens[t], _hostX.AsSpan(t * h, h));
        ArrayView<float> x = _x.View;
        x.SubView(0, (long)T * h).CopyFromCPU(_hostX.AsSpan(0, T * h));
        foreach (var layer in _layers) Block(layer, T, start);

        if (allLogits || !logits.IsEmpty)
        {
            int first = allLogits ? 0 : T - 1, outTokens = T - first;
            RmsNorm(x.SubView((long)first * h, (long)outTokens * h), _finalNorm, outTokens);
            _lmHead.Multiply(_normed.View, _logits.View, outTokens);
            _device.Accelerator.Synchronize();
            ArrayView<float> result = _logits.View;
            result.SubView(0, (long)outTokens * _c.VocabSize).CopyToCPU(logits[..(outTokens * _c.VocabSize)]);
        }
        else _device.Accelerator.Synchronize();
    }

    /// <summary>_normed = RMSNorm(x) · weight for <paramref name="tokens"/> rows, in two steps (sums of squares by slice, then each value).</summary>
    private void RmsNorm(ArrayView<float> x, MemoryBuffer1D<float, Stride1D.Dense> weight, int tokens)
    {
        int h = _c.HiddenSize;
        _device.SquareSums(new Index2D(NormSlices, tokens), x, _squareSums.View, h, NormSlices);
        _device.Normalize(new Index2D(h, tokens), x, _squareSums.View, weight.View, _normed.View, h, NormSlices, (float)_c.RmsNormEps);
    }

    private void Block(DeviceLayer l, int T, int start)
    {
        int h = _c.HiddenSize, hd = _c.HeadDim, nh = _c.NumAttentionHeads, nkv = _c.NumKeyValueHeads;
        int qDim = nh * hd, kvDim = nkv * hd, f = _c.IntermediateSize;

        RmsNorm(_x.View, l.InputNorm, T);
        l.Q.Multiply(_normed.View, _q.View, T);
        l.K.Multiply(_normed.View, _k.View, T);
        l.V.Multiply(_normed.View, _v.View, T);
        if (l.QBias is not null) _device.AddBias(new Index2D(qDim, T), _q.View, l.QBias.View, qDim);
        if (l.KBias is not null) _device.AddBias(new Index2D(kvDim, T), _k.View, l.KBias.View, kvDim);
        if (l.VBias is not null) _device.AddBias(new Index2D(kvDim, T), _v.View, l.VBias.View, kvDim);
        _device.Rope(new Index2D(nh * hd / 2, T), _q.View, _cos.View, _sin.View, start, nh, hd);
        _device.Rope(new Index2D(nkv * hd / 2, T), _k.View, _cos.View, _sin.View, start, nkv, hd);
        _device.Store(T * kvDim, _k.View, l.Keys.View, (long)start * kvDim);
        _device.Store(T * kvDim, _v.View, l.Values.View, (long)start * kvDim);

        _device.AttentionScores(new Index3D(start + T, nh, T), _q.View, l.Keys.View, _scores.View, start, nh, nkv, hd, _capacity);
        _device.AttentionSoftmax(new Index2D(nh, T), _scores.View, _inverseSums.View, start, nh, _capacity);
        _device.AttentionValues(new Index3D(hd, nh, T), _scores.View, _inverseSums.View, l.Values.View, _attn.View, start, nh, nkv, hd, _capacity);
        l.O.Multiply(_attn.View, _o.View, T);
        _device.Add(T * h, _x.View, _o.View);

        RmsNorm(_x.View, l.PostAttentionNorm, T);
        l.Gate.Multiply(_normed.View, _gate.View, T);
        l.Up.Multiply(_normed.View, _up.View, T);
        _device.SwiGlu(T * f, _gate.View, _up.View);
        l.Down.Multiply(_gate.View, _o.View, T);
        _device.Add(T * h, _x.View, _o.View);
    }

    public void Dispose()
    {
        foreach (var b in _buffers) b.Dispose();
        _buffers.Clear();
    }
}
