namespace ModelBuild.Format.Pack;

/// <summary>bfloat16 as raw bits: the upper half of a float32 (same 8-bit exponent, 7 mantissa bits).</summary>
public static class BFloat16Bits
{
    /// <summary>Rounds to the nearest bfloat16, ties to even; a NaN stays a (quiet) NaN instead of rounding to infinity.</summary>
    public static ushort FromSingle(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x0040);
        return (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
    }

    /// <summary>Exact: every bfloat16 is a float32 with zero low bits.</summary>
    public static float ToSingle(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);
}
