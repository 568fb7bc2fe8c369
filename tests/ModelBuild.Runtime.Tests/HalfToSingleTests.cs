using ModelBuild.Runtime.Kernels;

namespace ModelBuild.Runtime.Tests;

public unsafe class HalfToSingleTests
{
    [Fact]
    public void Every_half_converts_as_the_framework_does()
    {
        // All 65 536 bit patterns: zeros, subnormals, normals, infinities and NaNs of both signs, plus a ragged tail.
        const int count = 65536 + 7;
        var halves = new Half[count];
        for (int i = 0; i < count; i++) halves[i] = BitConverter.UInt16BitsToHalf((ushort)(i % 65536));
        var singles = new float[count];
        fixed (Half* source = halves)
        fixed (float* destination = singles)
            HalfToSingle.Convert(source, destination, count);
        for (int i = 0; i < count; i++)
        {
            float expected = (float)halves[i];
            if (float.IsNaN(expected)) Assert.True(float.IsNaN(singles[i]), $"bits {i % 65536:X4}");
            else Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(singles[i]), $"bits {i % 65536:X4}: {singles[i]} instead of {expected}");
        }
    }
}
