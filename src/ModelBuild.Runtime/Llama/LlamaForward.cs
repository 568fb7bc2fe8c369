using System.Numerics.Tensors;
using ModelBuild.Format.Config;
using ModelBuild.Runtime.Kernels;

namespace ModelBuild.Runtime.Llama;

/// <summary>
/// The Llama forward pass over packed weights with a KV cache (one sequence). Feed tokens in chunks of any
/// size; positions continue from the cache. Follows Hugging Face's LlamaModel: pre-norm RMSNorm, RoPE in the
/// half-split layout, grouped-query attention, SwiGLU MLP.
/// </summary>
public sealed class LlamaForward
{
    private readonly LlamaConfig _c;
    private readonly LlamaWeights _w;
    private readonly float[][] _keyCache, _valueCache;
    private readonly float[] _ropeCos, _ropeSin; // [maxPositions, headDim/2]
    public int MaxPositions { get; }
    public int Position { get; private set; }

    public LlamaForward(LlamaConfig config, LlamaWeights weights, int? maxPositions = null)
    {
        _c = config;
        _w = weights;
        MaxPositions = maxPositions ?? config.MaxPositionEmbeddings;
        int kvDim = config.NumKeyValueHeads * config.HeadDim;
        _keyCache = Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new float[MaxPositions * kvDim]).ToArray();
        _valueCache = Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new float[MaxPositions * kvDim]).ToArray();
        var inv = RopeFrequencies.InverseFrequencies(config);
        int half = config.HeadDim / 2;
        _ropeCos = new float[MaxPositions * half];
        _ropeSin = new float[MaxPositions * half];
        for (int p = 0; p < MaxPositions; p++)
            for (int i = 0; i < half; i++)
            {
                // Compute in float32 as the reference does, so long contexts agree.
                float angle = (float)p * (float)inv[i];
                _ropeCos[p * half + i] = MathF.Cos(angle);
                _ropeSin[p * half + i] = MathF.Sin(angle);
            }
    }

    public void Reset() => Position = 0;

    /// <summary>
    /// Runs <paramref name="tokens"/> at the next positions. Writes logits for every token ([T, vocab]) when
    /// <paramref name="allLogits"/> is set, else only for the last token ([vocab]).
    /// </summary>
    public void Forward(ReadOnlySpan<int> tokens, Span<float> logits, bool allLogits = false)
    {
        int T = tokens.Length, h = _c.HiddenSize;
        if (T == 0) throw new ArgumentException("no tokens to run.");
        if (Position + T > MaxPositions)
            throw new InvalidOperationException($"context is full: {Position} + {T} tokens exceed {MaxPositions} positions.");
        var x = new float[T * h];
        for (int t = 0; t < T; t++)
        {
            if ((uint)tokens[t] >= (uint)_c.VocabSize) throw new ArgumentOutOfRangeException(nameof(tokens), $"token id {tokens[t]} is outside the vocabulary ({_c.VocabSize}).");
            _w.Embedding.DequantizeRow(tokens[t], x.AsSpan(t * h, h));
        }
        var norm = new float[T * h];
        for (int l = 0; l < _c.NumHiddenLayers; l++) Block(l, x, norm, T);

        int first = allLogits ? 0 : T - 1;
        int outTokens = T - first;
        RmsNorm(x.AsSpan(first * h, outTokens * h), _w.FinalNorm, norm, outTokens);
        MatMul.Multiply(_w.LmHead, norm, logits, outTokens);
        Position += T;
    }

    private void Block(int l, float[] x, float[] norm, int T)
    {
        var w = _w.Layers[l];
        int h = _c.HiddenSize, hd = _c.HeadDim, nh = _c.NumAttentionHeads, nkv = _c.NumKeyValueHeads;
        int qDim = nh * hd, kvDim = nkv * hd, f = _c.IntermediateSize;

        RmsNorm(x, w.InputNorm, norm, T);
        var q = new float[T * qDim];
        var k = new float[T * kvDim];
        var v = new float[T * kvDim];
        MatMul.Multiply(w.Q, norm, q, T, w.QBias);
        MatMul.Multiply(w.K, norm, k, T, w.KBias);
        MatMul.Multiply(w.V, norm, v, T, w.VBias);
        for (int t = 0; t < T; t++)
        {
            int pos = Position + t;
            for (int head = 0; head < nh; head++) Rope(q.AsSpan(t * qDim + head * hd, hd), pos);
            for (int head = 0; head < nkv; head++) Rope(k.AsSpan(t * kvDim + head * hd, hd), pos);
        }
        k.AsSpan().CopyTo(_keyCache[l].AsSpan(Position * kvDim));
        v.AsSpan().CopyTo(_valueCache[l].AsSpan(Position * kvDim));

        var attn = new float[T * qDim];
        Attention(l, q, attn, T);
        var o = new float[T * h];
        MatMul.Multiply(w.O, attn, o, T);
        TensorPrimitives.Add(x, o, x);

        RmsNorm(x, w.PostAttentionNorm, norm, T);
        var gate = new float[T * f];
        var up = new float[T * f];
        MatMul.Multiply(w.Gate, norm, gate, T);
        MatMul.Multiply(w.Up, norm, up, T);
        for (int i = 0; i < gate.Length; i++) gate[i] = gate[i] / (1f + MathF.Exp(-gate[i])) * up[i]; // SiLU(gate) * up
        MatMul.Multiply(w.Down, gate, o, T);
        TensorPrimitives.Add(x, o, x);
    }

    /// <summary>Causal attention of T new queries over the cache (positions 0 .. Position+t).</summary>
    private void Attention(int l, float[] q, float[] output, int T)
    {
        int hd = _c.HeadDim, nh = _c.NumAttentionHeads, nkv = _c.NumKeyValueHeads, group = nh / nkv;
        int qDim = nh * hd, kvDim = nkv * hd;
        float scale = 1f / MathF.Sqrt(hd);
        var keys = _keyCache[l];
        var values = _valueCache[l];
        Parallel.For(0, T * nh, work =>
        {
            int t = work / nh, head = work % nh, kvHead = head / group;
            int length = Position + t + 1;
            var scores = new float[length];
            var query = new ReadOnlySpan<float>(q, t * qDim + head * hd, hd);
            for (int p = 0; p < length; p++)
                scores[p] = TensorPrimitives.Dot(query, new ReadOnlySpan<float>(keys, p * kvDim + kvHead * hd, hd)) * scale;
            Softmax.InPlace(scores);
            var dst = output.AsSpan(t * qDim + head * hd, hd);
            dst.Clear();
            for (int p = 0; p < length; p++)
                TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(values, p * kvDim + kvHead * hd, hd), scores[p], dst, dst);
        });
    }

    private void Rope(Span<float> v, int pos)
    {
        int half = v.Length / 2;
        var cos = _ropeCos.AsSpan(pos * half, half);
        var sin = _ropeSin.AsSpan(pos * half, half);
        for (int i = 0; i < half; i++)
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
