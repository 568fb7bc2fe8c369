using System.Numerics.Tensors;

namespace ModelBuild.Runtime.Generation;

/// <summary>Picks the next token from logits: greedy, or temperature with top-k and top-p (nucleus) filtering.</summary>
public sealed class Sampler(GenerationOptions options)
{
    private readonly Random _random = options.Seed is int s ? new Random(s) : new Random();
    private int[] _order = Array.Empty<int>();
    private float[] _probs = Array.Empty<float>();

    public int Next(ReadOnlySpan<float> logits)
    {
        if (options.Temperature <= 0) return TensorPrimitives.IndexOfMax(logits);
        int n = logits.Length;
        if (_probs.Length != n) { _probs = new float[n]; _order = new int[n]; }
        TensorPrimitives.Divide(logits, options.Temperature, _probs);
        Kernels.Softmax.InPlace(_probs);
        for (int i = 0; i < n; i++) _order[i] = i;
        var probs = _probs;
        Array.Sort(_order, (a, b) => probs[b].CompareTo(probs[a]) is var c && c != 0 ? c : a.CompareTo(b));
        int keep = options.TopK > 0 ? Math.Min(options.TopK, n) : n;
        float cumulative = 0;
        for (int i = 0; i < keep; i++)
        {
            cumulative += probs[_order[i]];
            if (cumulative >= options.TopP) { keep = i + 1; break; }
        }
        float total = 0;
        for (int i = 0; i < keep; i++) total += probs[_order[i]];
        float r = (float)_random.NextDouble() * total;
        for (int i = 0; i < keep; i++)
        {
            r -= probs[_order[i]];
            if (r <= 0) return _order[i];
        }
        return _order[keep - 1];
    }
}
