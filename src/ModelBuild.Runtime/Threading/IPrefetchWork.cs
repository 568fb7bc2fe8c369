namespace ModelBuild.Runtime.Threading;

/// <summary>
/// The dispatch after the current one, as far as its memory goes: a thread that would otherwise wait (it finished its
/// range first, or the caller is doing serial work) fetches the start of its next range into its caches.
/// </summary>
public interface IPrefetchWork
{
    /// <summary>Items of the next dispatch (its ranges are worked out as <see cref="WorkerPool.RunSplit"/> will).</summary>
    int Count { get; }

    /// <summary>
    /// Prefetches the next piece of what the range [start, end) reads first, in the order it reads it, from
    /// <paramref name="cursor"/> (0 at first; the callee advances it). Returns the bytes asked for, 0 when nothing is left.
    /// Only prefetch hints: a stale or odd range must never fault or write.
    /// </summary>
    long Prefetch(int start, int end, ref long cursor);
}
