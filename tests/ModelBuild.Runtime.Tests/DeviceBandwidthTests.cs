using ModelBuild.Runtime.Gpu;

namespace ModelBuild.Runtime.Tests;

public class DeviceBandwidthTests
{
    [Fact]
    public void The_device_probe_reads_every_float_once_and_reports_a_rate()
    {
        using var device = IlgpuDevice.Create(requireCuda: false);
        using var probe = new DeviceBandwidth(device, bytes: 1 << 20, threads: 300); // 262 144 floats, not a multiple of 300
        double rate = probe.Measure(passes: 2);
        Assert.True(double.IsFinite(rate) && rate > 0, $"rate {rate}");
        float each = BitConverter.Int32BitsToSingle(0x3F3F3F3F);
        var sums = probe.Sums();
        Assert.Equal(300, sums.Length);
        Assert.Equal((1 << 20) / 4 * (double)each, sums.Sum(s => (double)s), 1e-5 * (1 << 18));
        // Thread 0 reads floats 0, 300, 600, …: ⌈262 144 / 300⌉ of them; thread 299 one fewer.
        Assert.Equal(874 * each, sums[0], 0.05); // float sums of 874 terms
        Assert.Equal(873 * each, sums[299], 0.05);
    }
}
