using System.Numerics.Tensors;

namespace ModelBuild.Runtime;

/// <summary>Perplexity over a token stream in non-overlapping windows of BOS + (window-1) tokens.</summary>
public static class Evaluation
{
    public sealed record Result(double Perplexity, long Tokens, double NegativeLogLikelihood);

    public static Result Perplexity(CausalLanguageModel model, int[] ids, int window = 256, int maxTokens = int.MaxValue, IProgress<double>? progress = null)
    {
        if (ids.Length == 0) throw new ArgumentException("the evaluation text has no tokens.");
        window = Math.Min(window, model.Config.MaxPositionEmbeddings);
        int total = Math.Min(ids.Length, maxTokens);
        int vocab = model.Config.VocabSize;
        using var session = model.CreateSession(window);
        double nll = 0;
        long count = 0;
        var logits = new float[window * vocab];
        var input = new int[window];
        for (int start = 0; start < total; start += window - 1)
        {
            int n = Math.Min(window - 1, total - start);
            input[0] = model.Config.BosTokenId;
            Array.Copy(ids, start, input, 1, n - 1);
            session.Reset();
            session.Forward(input.AsSpan(0, n), logits, allLogits: true);
            for (int t = 0; t < n; t++)
            {
                var row = logits.AsSpan(t * vocab, vocab);
                float max = TensorPrimitives.Max(row);
                double sum = 0;
                foreach (var v in row) sum += Math.Exp(v - max);
                double tokenNll = Math.Log(sum) + max - row[ids[start + t]];
                if (!double.IsFinite(tokenNll))
                    throw new InvalidOperationException($"the model produced non-finite logits at token {start + t}; the pack's weights may be broken.");
                nll += tokenNll;
            }
            count += n;
            progress?.Report((double)count / total);
        }
        return new Result(Math.Exp(nll / count), count, nll);
    }
}
