using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelBuild.Runtime.Kernels;

/// <summary>
/// The columns (0-127) of a 2:4 chunk's 64 kept values from its 16 bytes of positions (Format.Pack.Sparse24Layout):
/// the two 64-bit words in every 128-bit lane, each byte selecting its own 2-bit field (vpmultishiftqb, AVX-512 VBMI),
/// then (field &amp; 3) | 4·(k/2) in one ternary op. Byte k of the result is kept value k's column.
/// </summary>
internal static unsafe class Sparse24Columns
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<byte> Unpack(byte* positions)
    {
        var words = Avx512F.BroadcastVector128ToVector512((uint*)positions).AsUInt64();
        var fields = Avx512Vbmi.MultiShift(FieldOffsets, words);
        return Avx512F.TernaryLogic(fields, Vector512.Create((byte)3), QuadStarts, 0xEA);
    }

    /// <summary>Byte 8Q+i selects bits 16·(Q/2) + 2i of its word.</summary>
    private static readonly Vector512<byte> FieldOffsets = Table(k => 16 * (k >> 4) + 2 * (k & 7));

    /// <summary>The first column of kept value k's quad.</summary>
    private static readonly Vector512<byte> QuadStarts = Table(k => 4 * (k / 2));

    private static Vector512<byte> Table(Func<int, int> value)
    {
        var bytes = new byte[64];
        for (int k = 0; k < 64; k++) bytes[k] = (byte)value(k);
        return Vector512.Create(bytes);
    }
}
