using ModelBuild.Runtime.Benchmarking;
using ModelBuild.Runtime.Threading;

namespace ModelBuild.Runtime.Tests;

public unsafe class MemoryBandwidthTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 2)]
    [InlineData(2, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 2)]
    public void Both_read_patterns_read_every_word_once(int threads, int streams)
    {
        // 41 MB of random words (pieces of 16, 16 and 9 MB, the last split into odd halves): the XOR of what the probe read
        // must be the XOR of the region, whichever pattern read it and however the threads took the pieces (a word skipped
        // or read twice changes the result).
        var words = new ulong[41 << 17];
        var rng = new Random(threads * 10 + streams);
        for (int i = 0; i < words.Length; i++) words[i] = (ulong)rng.NextInt64() ^ (ulong)rng.Next() << 63;
        ulong expected = 0;
        foreach (var w in words) expected ^= w;
        using var pool = new WorkerPool(threads);
        fixed (ulong* p = words)
        {
            using var probe = new MemoryBandwidth((byte*)p, words.Length * 8L);
            Assert.Equal(expected, probe.Read(pool, streams));
        }
    }

    [Fact]
    public void Measure_reports_the_faster_pattern_s_rate()
    {
        using var pool = new WorkerPool(2);
        using var probe = new MemoryBandwidth(64L << 20);
        Assert.Equal((0.0, 0.0), probe.BestByPattern);
        double gbps = probe.Measure(pool, passes: 1);
        Assert.True(gbps > 0 && double.IsFinite(gbps), $"{gbps}");
        // Each pattern has its own reading, and the result is the faster of them.
        var (one, two) = probe.BestByPattern;
        Assert.True(one > 0 && two > 0, $"{one} {two}");
        Assert.Equal(Math.Max(one, two), gbps);
    }

    /// <summary>The probe reads memory on 2 MB pages where the kernel gives them to an application that asks (4 KB pages read about 5 % slower).</summary>
    [Fact]
    public void The_probe_reads_memory_on_large_pages_where_the_kernel_allows()
    {
        const string Setting = "/sys/kernel/mm/transparent_hugepage/enabled";
        if (!OperatingSystem.IsLinux() || !File.Exists(Setting) || File.ReadAllText(Setting).Contains("[never]")) return;
        using var probe = new MemoryBandwidth(64L << 20);
        double? share = Format.Pack.LargePages.MappedShare(probe.Buffer, 64L << 20);
        Assert.True(share >= 0.5, $"the probe's buffer is {share:P0} on 2 MB pages");
    }
}
