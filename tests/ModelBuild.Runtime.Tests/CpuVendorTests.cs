using ModelBuild.Runtime.Kernels;

namespace ModelBuild.Runtime.Tests;

/// <summary>The vendor read from CPUID, which picks the stream prefetch's hint (<see cref="StreamPrefetch.NonTemporal"/>).</summary>
public class CpuVendorTests
{
    [Fact]
    public void The_vendor_matches_what_the_kernel_reports()
    {
        const string cpuinfo = "/proc/cpuinfo";
        if (!System.Runtime.Intrinsics.X86.X86Base.IsSupported)
        {
            Assert.Equal("", CpuVendor.Name);
            return;
        }
        Assert.Equal(12, CpuVendor.Name.Length);
        if (!File.Exists(cpuinfo)) return; // not Linux: nothing to compare with
        string reported = File.ReadLines(cpuinfo).First(l => l.StartsWith("vendor_id")).Split(':', 2)[1].Trim();
        Assert.Equal(reported, CpuVendor.Name);
        Assert.Equal(reported == "AuthenticAMD", CpuVendor.IsAmd);
    }

    [Fact]
    public void The_stream_prefetch_is_non_temporal_exactly_on_AMD() => Assert.Equal(CpuVendor.IsAmd, StreamPrefetch.NonTemporal);
}
