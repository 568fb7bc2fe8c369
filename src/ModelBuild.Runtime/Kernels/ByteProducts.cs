using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelBuild.Runtime.Kernels;

/// <summary>
/// Byte products summed into the eight 32-bit lanes of a 256-bit vector. With AVX-VNNI (vpdpbusd on 256-bit vectors:
/// Intel since Alder Lake, AMD since Zen 5) the products go straight into 32-bit lanes; without it, through 16-bit
/// pairs (vpmaddubsw) and a vpmaddwd by ones. The lane sums are the same integers either way. Kernels take
/// <c>vnni</c> as a JIT-time constant (AvxVnni.IsSupported, or false to compare against the 16-bit route).
/// </summary>
internal static class ByteProducts
{
    /// <summary>
    /// Lane l = Σ_{k&lt;4} a[4l+k]·b[4l+k] + c[4l+k]·d[4l+k], for unsigned codes a, c of at most 15 (so the 16-bit
    /// route cannot saturate: 2 · 2 · 15 · 127 &lt; 32767) against int8 activations b, d.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> CodePairs(Vector256<byte> a, Vector256<sbyte> b, Vector256<byte> c, Vector256<sbyte> d, bool vnni)
    {
        if (vnni && AvxVnni.IsSupported) return AvxVnni.MultiplyWideningAndAdd(AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, a, b), c, d);
        return Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(a, b) + Avx2.MultiplyAddAdjacent(c, d), Vector256.Create((short)1));
    }
}
