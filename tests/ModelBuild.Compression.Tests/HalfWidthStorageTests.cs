using ModelBuild.Compression.Ingestion;
using ModelBuild.Compression.Pipeline;
using ModelBuild.Format.Pack;

namespace ModelBuild.Compression.Tests;

public class HalfWidthStorageTests
{
    [Theory]
    [InlineData(TensorDType.BF16, 0.5f, "bf16")]     // a bf16 checkpoint stays bf16 whatever its values
    [InlineData(TensorDType.F16, 0.5f, "f16")]
    [InlineData(TensorDType.F32, 0.5f, "f16")]
    [InlineData(TensorDType.F32, 65504f, "f16")]     // f16's largest finite value still fits
    [InlineData(TensorDType.F32, -70000f, "bf16")]   // beyond it f16 would store -infinity
    [InlineData(TensorDType.F32, float.PositiveInfinity, "f16")] // already infinite: f16 keeps it exactly
    public void Chooses_the_16_bit_format_that_holds_the_values(TensorDType source, float extreme, string expected)
    {
        float[] values = [0.25f, -1f, extreme, 3f];
        Assert.Equal(expected, HalfWidthStorage.Choose(source, values));
        var bytes = HalfWidthStorage.Encode(expected, values);
        Assert.Equal(values.Length * 2, bytes.Length);
        ushort stored = BitConverter.ToUInt16(bytes, 4);
        float back = expected == TensorLayout.BF16 ? BFloat16Bits.ToSingle(stored) : (float)BitConverter.UInt16BitsToHalf(stored);
        Assert.Equal(extreme, back, Math.Abs(extreme) * 1e-2f);
    }
}
