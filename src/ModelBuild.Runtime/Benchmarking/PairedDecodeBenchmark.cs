namespace ModelBuild.Runtime.Benchmarking;

/// <summary>
/// Decode speed of two models (say dense int4 and 2:4 + int4) in one process: they decode in turn, round after round,
/// alternating which goes first, and the ratio is taken within each round. On a shared machine whose memory speed
/// drifts by ±20 % within a minute, separate runs cannot show a 5 % difference; rounds a second apart can.
/// </summary>
public static class PairedDecodeBenchmark
{
    /// <summary>
    /// Decode rates round by round, and each pack's own read bandwidth (null on a device, or for a pack that would be
    /// read from the caches) with fresh memory's, measured when either pack's was.
    /// </summary>
    public sealed record Result(int Threads, int DecodeTokens, int DecodeDepth, long FirstBytesPerToken, long SecondBytesPerToken,
        IReadOnlyList<double> FirstTokensPerSecond, IReadOnlyList<double> SecondTokensPerSecond,
        double? FirstPackReadGBps = null, double? SecondPackReadGBps = null, double? MemoryBandwidthGBps = null)
    {
        /// <summary>
        /// Whether either pack reads slower than fresh memory: the ratio then compares the packs' memory as well as their
        /// formats (a stale mapping decoded 1.23× slower than the same bytes in fresh memory, session 19).
        /// </summary>
        public bool SlowPack => MemoryBandwidthGBps is { } memory &&
            (DecodeBenchmark.IsSlow(FirstPackReadGBps, memory) || DecodeBenchmark.IsSlow(SecondPackReadGBps, memory));

        /// <summary>Second ÷ first, round by round.</summary>
        public IReadOnlyList<double> Ratios => SecondTokensPerSecond.Zip(FirstTokensPerSecond, (b, a) => b / a).ToList();

        public double MedianRatio => Median(Ratios);
        public int SecondFasterRounds => Ratios.Count(r => r > 1);
    }

    /// <summary>Runs one unmeasured round, then <paramref name="rounds"/> measured ones of <paramref name="decodeTokens"/> tokens per model.</summary>
    public static Result Run(CausalLanguageModel first, CausalLanguageModel second, int threads, int decodeTokens = 32, int rounds = 20,
        int decodeDepth = 0, Action<string>? log = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rounds, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(decodeTokens, 1);
        using var pool = new Threading.WorkerPool(threads);
        var models = new[] { first, second };
        var sessions = models.Select(m => m.CreateSession(Math.Min(m.Config.MaxPositionEmbeddings, decodeDepth + decodeTokens + 1), pool)).ToArray();
        try
        {
            var rng = new Random(0);
            var contexts = models.Select(m => Enumerable.Range(0, decodeDepth + 1).Select(_ => rng.Next(m.Config.VocabSize)).ToArray()).ToArray();
            var logits = models.Select(m => new float[m.Config.VocabSize]).ToArray();
            var next = new int[1];
            var rates = new[] { new List<double>(), new List<double>() };
            for (int round = -1; round < rounds; round++)
            {
                foreach (int m in round % 2 == 0 ? new[] { 0, 1 } : new[] { 1, 0 })
                {
                    double seconds = DecodeBenchmark.TimeDecode(sessions[m], contexts[m], decodeTokens, logits[m], next);
                    if (round >= 0) rates[m].Add(decodeTokens / seconds);
                }
                if (round >= 0) log?.Invoke($"round {round + 1}/{rounds}: {rates[0][^1]:F2} and {rates[1][^1]:F2} tok/s");
            }
            // Each pack's memory against fresh memory, after the rounds so the reads do not disturb them.
            double? firstRead = null, secondRead = null, memory = null;
            if (first.Device is null && second.Device is null)
            {
                (firstRead, secondRead) = (DecodeBenchmark.ReadPack(first, pool), DecodeBenchmark.ReadPack(second, pool));
                if (firstRead is not null || secondRead is not null)
                {
                    using var probe = new MemoryBandwidth();
                    memory = probe.Measure(pool);
                }
            }
            return new Result(threads, decodeTokens, decodeDepth, first.WeightBytesPerToken, second.WeightBytesPerToken, rates[0], rates[1],
                firstRead, secondRead, memory);
        }
        finally
        {
            foreach (var s in sessions) s.Dispose();
        }
    }

    public static double Median(IReadOnlyCollection<double> values)
    {
        var sorted = values.Order().ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
