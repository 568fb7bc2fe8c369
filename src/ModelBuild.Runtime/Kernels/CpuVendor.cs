using System.Runtime.Intrinsics.X86;

namespace ModelBuild.Runtime.Kernels;

/// <summary>The CPU's vendor, from CPUID leaf 0, for the few choices that measured differently on AMD and Intel.</summary>
internal static class CpuVendor
{
    /// <summary>"AuthenticAMD": EBX, EDX, ECX of leaf 0 hold the name four bytes at a time.</summary>
    public static readonly bool IsAmd = Name == "AuthenticAMD";

    /// <summary>The vendor string, or empty when CPUID is not available (not x86).</summary>
    public static string Name
    {
        get
        {
            if (!X86Base.IsSupported) return "";
            var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
            Span<byte> name = stackalloc byte[12];
            BitConverter.TryWriteBytes(name, ebx);
            BitConverter.TryWriteBytes(name[4..], edx);
            BitConverter.TryWriteBytes(name[8..], ecx);
            return System.Text.Encoding.ASCII.GetString(name);
        }
    }
}
