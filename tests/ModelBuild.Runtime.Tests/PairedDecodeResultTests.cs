using ModelBuild.Runtime.Benchmarking;

namespace ModelBuild.Runtime.Tests;

/// <summary>`bench --versus` flags a pack whose memory reads slower than fresh memory: the ratio would compare memory too.</summary>
public class PairedDecodeResultTests
{
    private static PairedDecodeBenchmark.Result With(double? firstRead, double? secondRead, double? memory) =>
        new(2, 32, 0, 1000, 800, [10.0, 11.0], [12.0, 12.5], firstRead, secondRead, memory);

    [Theory]
    [InlineData(31.0, 30.0, 32.0, false)]  // both within a tenth of fresh memory
    [InlineData(31.0, 26.0, 32.0, true)]   // the second pack's pages are slow (0.81×, as a stale mapping read here)
    [InlineData(26.0, null, 32.0, true)]   // the first is slow; the second too small to measure
    [InlineData(null, null, null, false)]  // nothing measured (small packs, or a device)
    public void A_pack_reading_below_nine_tenths_of_fresh_memory_is_flagged(double? firstRead, double? secondRead, double? memory, bool slow) =>
        Assert.Equal(slow, With(firstRead, secondRead, memory).SlowPack);

    [Fact]
    public void The_ratio_is_taken_round_by_round()
    {
        var r = With(null, null, null);
        Assert.Equal([1.2, 12.5 / 11.0], r.Ratios);
        Assert.Equal(2, r.SecondFasterRounds);
    }
}
