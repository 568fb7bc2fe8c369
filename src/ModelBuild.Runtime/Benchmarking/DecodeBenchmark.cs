using System.Diagnostics;
using System.Numerics.Tensors;
using ModelBuild.Runtime.Threading;

namespace ModelBuild.Runtime.Benchmarking;

/// <summary>
/// Prefill and decode speed of a model on this machine, with the memory bandwidth measured in the same run
/// (before and after every repeat; the highest reading counts),
/// so decode can be stated as a share of what the hardware can deliver (decode reads every weight per token).
/// Token ids are random: speed does not depend on them. As llama-bench's pp512 and tg tests, prefill and
/// decode are measured separately, decode from an empty context (one token in, then greedy).
/// </summary>
public static class DecodeBenchmark
{
    public sealed record Result(
        string Kernels, int Threads, int PromptTokens, int DecodeTokens, int DecodeDepth,
        double PrefillTokensPerSecond, double DecodeTokensPerSecond,
        long WeightBytesPerToken, double AchievedGBps, double MemoryBandwidthGBps, bool PackInProcessMemory = false, double? PackReadGBps = null)
    {
        public double BandwidthShare => AchievedGBps / MemoryBandwidthGBps;
    }

    // Below this share of the probe's reading the mapped pack's memory is slow: pages that read 0.82× as fast decoded
    // 1.23× slower than a copy in fresh memory (session 19), while fresh pages read within a few per cent of the probe.
    private const double SlowPackShare = 0.9;
    private const long SmallestPackToRead = 64L << 20;

    /// <summary>Whether a pack read at <paramref name="packRead"/> GB/s is slow memory next to fresh memory's <paramref name="memory"/>.</summary>
    internal static bool IsSlow(double? packRead, double memory) => packRead < SlowPackShare * memory;

    /// <summary>Measures prefill and decode speed and the share of memory bandwidth decode achieves.</summary>
    /// <param name="model">The loaded model.</param>
    /// <param name="threads">Worker threads for the products.</param>
    /// <param name="promptTokens">Prefill prompt length (512: llama-bench's pp512).</param>
    /// <param name="decodeTokens">Tokens decoded per repeat.</param>
    /// <param name="repeats">Repeats; the best is reported.</param>
    /// <param name="log">Progress lines.</param>
    /// <param name="decodeDepth">Tokens already in the cache when decode starts (0: an empty context, as llama-bench's tg).</param>
    public static Result Run(CausalLanguageModel model, int threads, int promptTokens = 512, int decodeTokens = 64, int repeats = 3, Action<string>? log = null,
        int decodeDepth = 0)
    {
        using var pool = new WorkerPool(threads);
        int context = Math.Min(model.Config.MaxPositionEmbeddings, Math.Max(promptTokens, decodeDepth + decodeTokens + 1));
        promptTokens = Math.Min(promptTokens, context);
        if (decodeDepth + decodeTokens + 1 > context)
            throw new ArgumentException($"the model's context ({model.Config.MaxPositionEmbeddings}) is too short for {decodeTokens} decode tokens after {decodeDepth}.");
        using var session = model.CreateSession(context, pool);
        var rng = new Random(0);
        var prompt = Enumerable.Range(0, Math.Max(promptTokens, decodeDepth + 1)).Select(_ => rng.Next(model.Config.VocabSize)).ToArray();
        var logits = new float[model.Config.VocabSize];
        var next = new int[1];

        // This machine's memory speed drifts between runs (and within one): measure it around every repeat and
        // divide by the highest reading, so a share is never flattered by a slow moment of the probe. A device
        // forward reads its weights from the device's memory, so that is the memory measured then.
        using var memory = model.Device is null ? new MemoryBandwidth() : null;
        using var deviceMemory = model.Device is { } device ? new Gpu.DeviceBandwidth(device, device.IsCuda ? 1L << 30 : 1L << 28) : null;
        double Measure() => memory?.Measure(pool) ?? deviceMemory!.Measure();
        double lowest = Measure(), bandwidth = lowest;
        double bestPrefill = double.MaxValue, bestDecode = double.MaxValue;
        for (int r = 0; r < repeats; r++)
        {
            session.Reset();
            long start = Stopwatch.GetTimestamp();
            session.Forward(prompt.AsSpan(0, promptTokens), logits);
            bestPrefill = Math.Min(bestPrefill, Stopwatch.GetElapsedTime(start).TotalSeconds);
            log?.Invoke($"prefill {promptTokens} tokens: {promptTokens / Stopwatch.GetElapsedTime(start).TotalSeconds:F1} tok/s");

            double decode = TimeDecode(session, prompt.AsSpan(0, decodeDepth + 1), decodeTokens, logits, next);
            bestDecode = Math.Min(bestDecode, decode);
            log?.Invoke($"decode {decodeTokens} tokens: {decodeTokens / decode:F2} tok/s");
            double reading = Measure();
            (lowest, bandwidth) = (Math.Min(lowest, reading), Math.Max(bandwidth, reading));
        }
        if (memory is null)
            log?.Invoke($"device memory read bandwidth ({model.Device!.Name}): {lowest:F1} to {bandwidth:F1} GB/s over {repeats + 1} readings; shares use the highest" +
                (model.Device.IsCuda ? "" : " (ILGPU's CPU accelerator, an emulator: neither figure means much)"));
        else log?.Invoke($"memory read bandwidth ({threads} threads): {lowest:F1} to {bandwidth:F1} GB/s over {repeats + 1} readings; shares use the highest " +
            $"(fastest pattern: one stream per thread {memory.BestByPattern.OneStream:F1}, two streams per thread {memory.BestByPattern.TwoStreams:F1} GB/s)");
        bool inMemory = model.Pack.InProcessMemory;
        double? packRead = memory is null ? null : ReadPack(model, pool);
        if (log is not null && memory is not null)
        {
            // Decode is 6-7 % slower on 4 KB pages than on 2 MB ones, so a reading means little without this.
            log($"pack {(inMemory ? "read into process memory (--no-mmap)" : "mapped from its file")}, on 2 MB pages: " +
                (model.Pack.LargePageShare is { } share ? $"{share:P0} of its resident bytes" : "unknown (not Linux, or the pack is not resident)"));
            if (packRead is { } read)
            {
                log($"read bandwidth of the pack ({threads} threads): {read:F1} GB/s = {read / bandwidth:P0} of the probe's");
                if (!inMemory && IsSlow(read, bandwidth))
                    log("  the mapped pack reads slower than fresh memory (on a VM, pages the page cache has held for hours can); " +
                        "--no-mmap reads it into fresh memory");
            }
        }
        double decodeRate = decodeTokens / bestDecode;
        long bytes = model.WeightBytesPerToken;
        return new Result(model.KernelPath.ToString().ToLowerInvariant(), threads, promptTokens, decodeTokens, decodeDepth,
            promptTokens / bestPrefill, decodeRate, bytes, bytes * decodeRate / 1e9, bandwidth, inMemory, packRead);
    }

    /// <summary>
    /// The pack's own read bandwidth (five more passes over it), to compare with the probe's: whether the pack's memory
    /// reads as fast as fresh memory. Null for a pack under 64 MB, which would be read from the caches.
    /// </summary>
    internal static unsafe double? ReadPack(CausalLanguageModel model, WorkerPool pool)
    {
        if (model.Pack.Header.DataLength < SmallestPackToRead) return null;
        using var packMemory = new MemoryBandwidth(model.Pack.DataPointer, model.Pack.Header.DataLength);
        return packMemory.Measure(pool);
    }

    /// <summary>Seconds to decode <paramref name="tokens"/> tokens greedily after a fresh prefill of <paramref name="context"/>.</summary>
    internal static double TimeDecode(Llama.LlamaForward session, ReadOnlySpan<int> context, int tokens, float[] logits, int[] next)
    {
        session.Reset();
        session.Forward(context, logits);
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < tokens; i++)
        {
            // Greedy, as the sampler picks at temperature 0, with the same vectorized search (over 32000 logits 10 µs a
            // token against 19 for a scalar loop: serial work the worker waits through).
            next[0] = TensorPrimitives.IndexOfMax(logits);
            session.Forward(next, logits);
        }
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }
}
