using System.Numerics.Tensors;
using ModelBuild.Runtime.Llama;

namespace ModelBuild.Runtime;

/// <summary>Perplexity over a token stream in non-overlapping windows of BOS + (window-1) tokens.</summary>
public static class Evaluation
{
    public sealed record Result(double Perplexity, long Tokens, double NegativeLogLikelihood);

    // exp(logit − max) is summed in float over blocks this long and the blocks' sums in double.
    private const int SumBlock = 4096;

    public static Result Perplexity(CausalLanguageModel model, int[] ids, int window = 256, int maxTokens = int.MaxValue, IProgress<double>? progress = null)
    {
        if (ids.Length == 0) throw new ArgumentException("the evaluation text has no tokens.");
        window = Math.Min(window, model.Config.MaxPositionEmbeddings);
        int total = Math.Min(ids.Length, maxTokens);
        int vocab = model.Config.VocabSize;
        using var session = model.CreateSession(window);
        // A window runs in pieces of the forward's own chunk, so only a piece's logits are held (16 MB for a
        // 128K-token vocabulary, not a whole window's), and the results are those of one call over the window.
        int piece = Math.Min(window - 1, LlamaForward.ChunkTokens);
        var logits = new float[(long)piece * vocab];
        var scratch = new float[vocab];
        var input = new int[window];
        double nll = 0;
        long count = 0;
        for (int start = 0; start < total; start += window - 1)
        {
            int n = Math.Min(window - 1, total - start);
            input[0] = model.Config.BosTokenId;
            Array.Copy(ids, start, input, 1, n - 1);
            session.Reset();
            for (int p = 0; p < n; p += piece)
            {
                int m = Math.Min(piece, n - p);
                session.Forward(input.AsSpan(p, m), logits.AsSpan(0, m * vocab), allLogits: true);
                for (int t = 0; t < m; t++)
                    nll += TokenNegativeLogLikelihood(logits.AsSpan(t * vocab, vocab), ids[start + p + t], scratch, start + p + t);
            }
            count += n;
            progress?.Report((double)count / total);
        }
        return new Result(Math.Exp(nll / count), count, nll);
    }

    /// <summary>−log softmax(row)[target], with the row's maximum subtracted before exponentiating.</summary>
    private static double TokenNegativeLogLikelihood(ReadOnlySpan<float> row, int target, Span<float> scratch, int position)
    {
        float max = TensorPrimitives.Max(row);
        TensorPrimitives.Subtract(row, max, scratch);
        TensorPrimitives.Exp(scratch, scratch);
        double sum = 0;
        for (int b = 0; b < row.Length; b += SumBlock) sum += TensorPrimitives.Sum(scratch.Slice(b, Math.Min(SumBlock, row.Length - b)));
        double nll = Math.Log(sum) + max - row[target];
        if (!double.IsFinite(nll))
            throw new InvalidOperationException($"the model produced non-finite logits at token {position}; the pack's weights may be broken.");
        return nll;
    }
}
