using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace ModelBuild.Runtime.Kernels;

/// <summary>
/// Software prefetch a fixed distance ahead in a thread's weight stream. The hardware prefetcher alone leaves
/// DRAM latency exposed in decode (each thread streams its rows once per token). On the AMD hosts, 1.5 KB ahead
/// measured 15–20 % faster int4 decode in `modelbuild bench` A/B runs (1–2 KB all helped; 0.5 KB and the T1/T2
/// hints did not); on the Intel hosts, whose memory latency is longer, 3 KB beat 1.5 KB in 3 of 3 A/B pairs
/// (+7–13 % int4 decode GB/s) and read the f16 head 5–20 % faster. On AMD CPUs the hint is non-temporal: each weight
/// line is read once per token, and on the Zen 5 host prefetchnta instead of prefetcht0 decoded the int4 pack about
/// 1.07× and the int8 pack 1.16× as fast (paired in one process, both pack orders; 2:4 + int4, bound by its arithmetic,
/// 1.01). Presumably the lines then skip L2 and are not cast out again into the L3, a victim cache there. An Intel host
/// had measured prefetchnta at 0.61× (session 7), so other CPUs keep prefetcht0, and add a prefetcht1 16 KB ahead: an
/// Intel core has only 16 L1 fill buffers, too few to cover DRAM latency at the rate a thread streams, while a T1
/// prefetch waits in L2's larger queue. On an Intel Xeon (session 17) that decoded int4 1.038, 1.010 and 1.046× as fast
/// (paired in one process, faster in 15, 10 and 16 of 16 rounds; 8–16 KB far and 1.5–3 KB near measured alike), int8
/// the same (0.998). Range, which warms lines used much later, keeps prefetcht0 everywhere.
/// </summary>
internal static unsafe class StreamPrefetch
{
    public const int Distance = 3072;

    /// <summary>How far ahead the second, L2-only prefetch reaches on CPUs other than AMD's.</summary>
    public const int FarDistance = 16384;

    /// <summary>Whether <see cref="Ahead"/> prefetches non-temporally: on AMD CPUs (a JIT-time constant).</summary>
    public static readonly bool NonTemporal = CpuVendor.IsAmd;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Ahead(void* p)
    {
        if (NonTemporal) Sse.PrefetchNonTemporal((byte*)p + Distance);
        else
        {
            Sse.Prefetch1((byte*)p + FarDistance);
            Sse.Prefetch0((byte*)p + Distance);
        }
    }

    /// <summary>Prefetches every cache line of [start, start + length); nothing on CPUs without SSE (a JIT-time constant).</summary>
    public static void Range(byte* start, long length)
    {
        if (!Sse.IsSupported) return;
        for (long i = 0; i < length; i += 64) Sse.Prefetch0(start + i);
        if (length > 0) Sse.Prefetch0(start + length - 1);
    }
}
