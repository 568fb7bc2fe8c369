using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelBuild.Runtime.Kernels;

/// <summary>
/// Splits 64 code bytes into their low nibbles (even columns) and high nibbles (odd columns). With GFNI the high
/// nibbles take one affine transform (a bit-selection matrix moving bits 4–7 to 0–3) instead of a shift and a mask.
/// A kernel makes one before its loop so the constants stay in registers: written inside the loop, the JIT reloads
/// them every iteration. Together these made the int4 decode kernel 1.11× as fast from L2 on an AMD EPYC (Zen 5).
/// </summary>
internal readonly unsafe struct NibbleSplit
{
    private readonly Vector512<byte> _lowMask;
    private readonly Vector512<byte> _highSelect;

    public NibbleSplit()
    {
        _lowMask = Vector512.Create((byte)0x0F);
        // Output bit i of each byte is the parity of (matrix byte 7 − i) AND input: byte 7 − i = 1 << (i + 4) for i < 4.
        _highSelect = Vector512.Create(0x1020408000000000UL).AsByte();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public (Vector512<byte> Lo, Vector512<byte> Hi) Split(byte* q)
    {
        var w = Vector512.Load(q);
        var hi = Gfni.V512.IsSupported
            ? Gfni.V512.GaloisFieldAffineTransform(w, _highSelect, 0)
            : Vector512.ShiftRightLogical(w.AsUInt16(), 4).AsByte() & _lowMask;
        return (w & _lowMask, hi);
    }
}
