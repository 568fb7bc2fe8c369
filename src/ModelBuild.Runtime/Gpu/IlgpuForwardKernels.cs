using ILGPU;

namespace ModelBuild.Runtime.Gpu;

/// <summary>
/// The non-product steps of the Llama forward as ILGPU kernels, so activations stay on the device for a whole
/// chunk: RMSNorm, bias, RoPE (half-split layout), the KV-cache append, causal grouped-query attention, SwiGLU and
/// the residual add. They follow the CPU code step by step; reductions (RMSNorm, attention) are split into steps of
/// many independent threads rather than a thread per row, and no thread waits on another. Layouts are [tokens, width].
/// </summary>
internal static class IlgpuForwardKernels
{
    /// <summary>RMSNorm's first step: partial[t, s] = Σ x[t, i]² over slice s of the row (index: slice, token).</summary>
    public static void SquareSums(Index2D index, ArrayView<float> x, ArrayView<float> partial, int width, int slices)
    {
        int s = index.X, t = index.Y, sliceWidth = (width + slices - 1) / slices;
        long row = (long)t * width;
        float sum = 0;
        for (int i = s * sliceWidth; i < IntrinsicMath.Min(width, (s + 1) * sliceWidth); i++) sum += x[row + i] * x[row + i];
        partial[(long)t * slices + s] = sum;
    }

    /// <summary>RMSNorm's second step: dst[t, i] = x[t, i] / rms(x[t]) · weight[i], each thread adding the slices' sums in order (index: i, token).</summary>
    public static void Normalize(Index2D index, ArrayView<float> x, ArrayView<float> partial, ArrayView<float> weight, ArrayView<float> dst,
        int width, int slices, float eps)
    {
        int i = index.X, t = index.Y;
        float sum = 0;
        for (int s = 0; s < slices; s++) sum += partial[(long)t * slices + s];
        long at = (long)t * width + i;
        dst[at] = x[at] * (1f / MathF.Sqrt(sum / width + eps)) * weight[i];
    }

    /// <summary>y[t, i] += bias[i] (Qwen2's q/k/v biases).</summary>
    public static void AddBias(Index2D index, ArrayView<float> y, ArrayView<float> bias, int width) =>
        y[(long)index.Y * width + index.X] += bias[index.X];

    /// <summary>Rotates pair (i, i + d/2) of one head of one token at position start + t (index: head · d/2 + i, token).</summary>
    public static void Rope(Index2D index, ArrayView<float> v, ArrayView<float> cos, ArrayView<float> sin, int start, int heads, int headDim)
    {
        int t = index.Y, half = headDim / 2, head = index.X / half, i = index.X - head * half;
        long at = ((long)t * heads + head) * headDim + i, angle = (long)(start + t) * half + i;
        float a = v[at], b = v[at + half], c = cos[angle], s = sin[angle];
        v[at] = a * c - b * s;
        v[at + half] = b * c + a * s;
    }

    /// <summary>cache[offset + i] = source[i]: the chunk's keys or values appended at their positions.</summary>
    public static void Store(Index1D i, ArrayView<float> source, ArrayView<float> cache, long offset) => cache[offset + i] = source[i];

    // Causal grouped-query attention in three steps, each spread over many threads (query heads share key/value heads
    // in groups of heads / kvHeads; scores are [token, head, maxPositions]; token t sees positions 0…start + t).

    /// <summary>scores[t, head, p] = q[t, head] · k[p, head's kv head] / √d (index: position, head, token).</summary>
    public static void AttentionScores(Index3D index, ArrayView<float> q, ArrayView<float> keys, ArrayView<float> scores,
        int start, int heads, int kvHeads, int headDim, int maxPositions)
    {
        int p = index.X, head = index.Y, t = index.Z;
        if (p > start + t) return;
        long query = ((long)t * heads + head) * headDim, key = (long)p * kvHeads * headDim + head / (heads / kvHeads) * headDim;
        float dot = 0;
        for (int d = 0; d < headDim; d++) dot += q[query + d] * keys[key + d];
        scores[((long)t * heads + head) * maxPositions + p] = dot * (1f / MathF.Sqrt(headDim));
    }

    /// <summary>Each (head, token)'s scores become exp(score − max); inverseSums[t, head] = 1 / their sum (index: head, token).</summary>
    public static void AttentionSoftmax(Index2D index, ArrayView<float> scores, ArrayView<float> inverseSums, int start, int heads, int maxPositions)
    {
        int head = index.X, t = index.Y, length = start + t + 1;
        long row = ((long)t * heads + head) * maxPositions;
        float max = float.NegativeInfinity, sum = 0;
        for (int p = 0; p < length; p++) max = IntrinsicMath.Max(max, scores[row + p]);
        for (int p = 0; p < length; p++)
        {
            float e = MathF.Exp(scores[row + p] - max);
            scores[row + p] = e;
            sum += e;
        }
        inverseSums[(long)t * heads + head] = 1f / sum;
    }

    /// <summary>output[t, head, d] = Σ_p weight[t, head, p] · v[p, head's kv head, d] (index: d, head, token; adjacent threads, adjacent values).</summary>
    public static void AttentionValues(Index3D index, ArrayView<float> scores, ArrayView<float> inverseSums, ArrayView<float> values,
        ArrayView<float> output, int start, int heads, int kvHeads, int headDim, int maxPositions)
    {
        int d = index.X, head = index.Y, t = index.Z, length = start + t + 1, kvDim = kvHeads * headDim;
        long row = ((long)t * heads + head) * maxPositions, value = head / (heads / kvHeads) * headDim + d;
        float acc = 0;
        for (int p = 0; p < length; p++) acc += scores[row + p] * values[(long)p * kvDim + value];
        output[((long)t * heads + head) * headDim + d] = acc * inverseSums[(long)t * heads + head];
    }

    /// <summary>gate = SiLU(gate) · up.</summary>
    public static void SwiGlu(Index1D i, ArrayView<float> gate, ArrayView<float> up)
    {
        float g = gate[i];
        gate[i] = g / (1f + MathF.Exp(-g)) * up[i];
    }

    /// <summary>x += o (the residual stream).</summary>
    public static void Add(Index1D i, ArrayView<float> x, ArrayView<float> o) => x[i] += o[i];
}
