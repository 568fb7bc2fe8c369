using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace ModelBuild.Runtime.Kernels;

/// <summary>
/// Software prefetch a fixed distance ahead in a thread's weight stream. The hardware prefetcher alone leaves
/// DRAM latency exposed in decode (each thread streams its rows once per token). On the AMD hosts, 1.5 KB ahead
/// measured 15–20 % faster int4 decode in `modelbuild bench` A/B runs (1–2 KB all helped; 0.5 KB and the T1/T2
/// hints did not); on the Intel hosts, whose memory latency is longer, 3 KB beat 1.5 KB in 3 of 3 A/B pairs
/// (+7–13 % int4 decode GB/s) and read the f16 head 5–20 % faster. The hint is non-temporal: each weight line is read
/// once per token, and on the Zen 5 host prefetchnta instead of prefetcht0 decoded the int4 pack 1.065–1.083× as fast
/// (paired in one process, both pack orders; 2:4 + int4, bound by its arithmetic, 1.012). Presumably the lines then
/// skip L2 and are not cast out again into the L3 (a victim cache there). Range, which warms lines used much later,
/// keeps prefetcht0.
/// </summary>
internal static unsafe class StreamPrefetch
{
    public const int Distance = 3072;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Ahead(void* p) => Sse.PrefetchNonTemporal((byte*)p + Distance);

    /// <summary>Prefetches every cache line of [start, start + length); nothing on CPUs without SSE (a JIT-time constant).</summary>
    public static void Range(byte* start, long length)
    {
        if (!Sse.IsSupported) return;
        for (long i = 0; i < length; i += 64) Sse.Prefetch0(start + i);
        if (length > 0) Sse.Prefetch0(start + length - 1);
    }
}
