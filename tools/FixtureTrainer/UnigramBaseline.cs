namespace ModelBuild.Tools.FixtureTrainer;

/// <summary>Perplexity of an add-one-smoothed unigram model fitted on the training tokens.</summary>
public static class UnigramBaseline
{
    public static double Perplexity(int[] train, int[] eval, int vocabSize)
    {
        var counts = new double[vocabSize];
        foreach (var t in train) counts[t]++;
        double total = train.Length + vocabSize;
        double nll = eval.Sum(t => -Math.Log((counts[t] + 1) / total));
        return Math.Exp(nll / eval.Length);
    }
}
