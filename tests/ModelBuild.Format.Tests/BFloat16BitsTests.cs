using ModelBuild.Format.Pack;

namespace ModelBuild.Format.Tests;

public class BFloat16BitsTests
{
    [Theory]
    [InlineData(1f, 0x3F80)]
    [InlineData(-2f, 0xC000)]
    [InlineData(65504f, 0x477F + 1)]                  // f16's largest finite value rounds up to 0x4780 (65536)
    [InlineData(1e5f, 0x47C3)]
    [InlineData(float.PositiveInfinity, 0x7F80)]
    [InlineData(1.00390625f, 0x3F80)]                 // exactly halfway between 0x3F80 and 0x3F81: ties to even
    [InlineData(1.01171875f, 0x3F82)]                 // halfway between 0x3F81 and 0x3F82: ties to even (up)
    [InlineData(3.4028235e38f, 0x7F80)]               // float.MaxValue rounds past bf16's largest finite value
    public void Rounds_to_nearest_even(float value, int expected) => Assert.Equal((ushort)expected, BFloat16Bits.FromSingle(value));

    [Fact]
    public void A_nan_whose_payload_sits_in_the_low_bits_stays_nan()
    {
        float nan = BitConverter.UInt32BitsToSingle(0x7F800001); // rounding alone would carry it into infinity
        Assert.True(float.IsNaN(BFloat16Bits.ToSingle(BFloat16Bits.FromSingle(nan))));
    }

    [Fact]
    public void Every_bf16_value_survives_a_round_trip()
    {
        for (int bits = 0; bits <= ushort.MaxValue; bits++)
        {
            float f = BFloat16Bits.ToSingle((ushort)bits);
            if (float.IsNaN(f)) continue;
            Assert.Equal((ushort)bits, BFloat16Bits.FromSingle(f));
        }
    }
}
