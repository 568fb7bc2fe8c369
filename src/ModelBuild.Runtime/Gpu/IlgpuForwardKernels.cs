using ILGPU;

namespace ModelBuild.Runtime.Gpu;

/// <summary>
/// The non-product steps of the Llama forward as ILGPU kernels, so activations stay on the device for a whole
/// chunk: RMSNorm, bias, RoPE (half-split layout), the KV-cache append, causal grouped-query attention, SwiGLU and
/// the residual add. Simple one-thread-per-row forms that follow the CPU code step by step; layouts are [tokens, width].
/// </summary>
internal static class IlgpuForwardKernels
{
    /// <summary>dst[t] = x[t] / rms(x[t]) · weight, one thread per token.</summary>
    public static void RmsNorm(Index1D t, ArrayView<float> x, ArrayView<float> weight, ArrayView<float> dst, int width, float eps)
    {
        long row = (long)t.X * width;
        float sum = 0;
        for (int i = 0; i < width; i++) sum += x[row + i] * x[row + i];
        float inv = 1f / MathF.Sqrt(sum / width + eps);
        for (int i = 0; i < width; i++) dst[row + i] = x[row + i] * inv * weight[i];
    }

    /// <summary>y[t, i] += bias[i] (Qwen2's q/k/v biases).</summary>
    public static void AddBias(Index2D index, ArrayView<float> y, ArrayView<float> bias, int width) =>
        y[(long)index.Y * width + index.X] += bias[index.X];

    /// <summary>Rotates pairs (i, i + d/2) of one head of one token at position start + t.</summary>
    public static void Rope(Index2D index, ArrayView<float> v, ArrayView<float> cos, ArrayView<float> sin, int start, int heads, int headDim)
    {
        int t = index.Y, head = index.X, half = headDim / 2;
        long at = ((long)t * heads + head) * headDim;
        long angle = (long)(start + t) * half;
        for (int i = 0; i < half; i++)
        {
            float a = v[at + i], b = v[at + i + half], c = cos[angle + i], s = sin[angle + i];
            v[at + i] = a * c - b * s;
            v[at + i + half] = b * c + a * s;
        }
    }

    /// <summary>cache[offset + i] = source[i]: the chunk's keys or values appended at their positions.</summary>
    public static void Store(Index1D i, ArrayView<float> source, ArrayView<float> cache, long offset) => cache[offset + i] = source[i];

    /// <summary>
    /// One (token, head): scores against every cached position up to its own, softmax (max subtracted), and the
    /// weighted sum of values. Query heads share key/value heads in groups of heads / kvHeads.
    /// </summary>
    public static void Attention(Index2D index, ArrayView<float> q, ArrayView<float> keys, ArrayView<float> values, ArrayView<float> scores,
        ArrayView<float> output, int start, int heads, int kvHeads, int headDim, int maxPositions)
    {
        int t = index.Y, head = index.X;
        int qDim = heads * headDim, kvDim = kvHeads * headDim, kvOffset = head / (heads / kvHeads) * headDim, length = start + t + 1;
        long query = (long)t * qDim + head * headDim, scoreRow = ((long)t * heads + head) * maxPositions;
        float scale = 1f / MathF.Sqrt(headDim), max = float.NegativeInfinity;
        for (int p = 0; p < length; p++)
        {
            float dot = 0;
            for (int d = 0; d < headDim; d++) dot += q[query + d] * keys[(long)p * kvDim + kvOffset + d];
            scores[scoreRow + p] = dot * scale;
            max = IntrinsicMath.Max(max, dot * scale);
        }
        float sum = 0;
        for (int p = 0; p < length; p++)
        {
            float e = MathF.Exp(scores[scoreRow + p] - max);
            scores[scoreRow + p] = e;
            sum += e;
        }
        for (int d = 0; d < headDim; d++)
        {
            float acc = 0;
            for (int p = 0; p < length; p++) acc += scores[scoreRow + p] * values[(long)p * kvDim + kvOffset + d];
            output[query + d] = acc / sum;
        }
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
