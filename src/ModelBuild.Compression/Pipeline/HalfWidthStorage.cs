using System.Runtime.InteropServices;
using ModelBuild.Compression.Ingestion;
using ModelBuild.Format.Pack;

namespace ModelBuild.Compression.Pipeline;

/// <summary>
/// The 16-bit format of a matrix the spec leaves unquantized. A bf16 checkpoint's matrices stay bf16, bit for bit;
/// f16 ones stay f16; f32 ones become f16 (three more mantissa bits than bf16), unless a value lies beyond f16's
/// ±65504, which f16 would turn into infinity: such a matrix is stored as bf16 instead of silently corrupted.
/// </summary>
public static class HalfWidthStorage
{
    public static string Choose(TensorDType source, ReadOnlySpan<float> values)
    {
        if (source == TensorDType.BF16) return TensorLayout.BF16;
        if (source == TensorDType.F16) return TensorLayout.F16; // nothing to scan: every value came from an f16
        foreach (float v in values)
            if (Math.Abs(v) > (float)Half.MaxValue && float.IsFinite(v)) return TensorLayout.BF16;
        return TensorLayout.F16;
    }

    public static byte[] Encode(string format, ReadOnlySpan<float> values)
    {
        var bits = new ushort[values.Length];
        if (format == TensorLayout.BF16)
            for (int i = 0; i < values.Length; i++) bits[i] = BFloat16Bits.FromSingle(values[i]);
        else
            for (int i = 0; i < values.Length; i++) bits[i] = BitConverter.HalfToUInt16Bits((Half)values[i]);
        return MemoryMarshal.AsBytes(bits.AsSpan()).ToArray();
    }
}
