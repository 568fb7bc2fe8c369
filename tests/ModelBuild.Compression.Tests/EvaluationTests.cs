using ModelBuild.Compression.Ingestion;
using ModelBuild.Compression.Pipeline;
using ModelBuild.Runtime;
using ModelBuild.Tests;

namespace ModelBuild.Compression.Tests;

/// <summary>Perplexity over the fixture's text against a direct log-softmax of every window's logits.</summary>
public class EvaluationTests
{
    [Theory]
    [InlineData(200, 450)] // windows of 199 tokens run as pieces of 128 and 71; the last window is short
    [InlineData(64, 130)]
    public void Perplexity_equals_the_mean_log_softmax_of_each_window(int window, int tokens)
    {
        using var dir = new RepoPaths.TempDir();
        new Compressor().Compress(Checkpoint.Open(RepoPaths.FixtureModel), null, dir.File("f16.mbpack"));
        using var model = CausalLanguageModel.Load(dir.File("f16.mbpack"));
        var ids = model.Tokenize(File.ReadAllText(RepoPaths.FixtureEvalText))[..tokens];
        var result = Evaluation.Perplexity(model, ids, window);

        int vocab = model.Config.VocabSize;
        double nll = 0;
        for (int start = 0; start < tokens; start += window - 1)
        {
            int n = Math.Min(window - 1, tokens - start);
            var input = new[] { model.Config.BosTokenId }.Concat(ids[start..(start + n - 1)]).ToArray();
            var logits = new float[n * vocab];
            using var session = model.CreateSession(window);
            session.Forward(input, logits, allLogits: true);
            for (int t = 0; t < n; t++)
            {
                var row = logits.AsSpan(t * vocab, vocab);
                double max = double.NegativeInfinity, sum = 0;
                foreach (var v in row) max = Math.Max(max, v);
                foreach (var v in row) sum += Math.Exp(v - max);
                nll += Math.Log(sum) + max - row[ids[start + t]];
            }
        }
        Assert.Equal(tokens, result.Tokens);
        Assert.True(Math.Abs(result.NegativeLogLikelihood - nll) < 1e-6 * nll, $"{result.NegativeLogLikelihood} vs {nll}");
        Assert.Equal(Math.Exp(nll / tokens), result.Perplexity, 1e-6 * result.Perplexity);
    }
}
