using System.Runtime.Intrinsics;
using ModelBuild.Runtime.Kernels;

namespace ModelBuild.Runtime.Tests;

public class VectorExpTests
{
    [Fact]
    public void Vector_exponential_is_accurate_across_the_float_range()
    {
        if (!Vector256.IsHardwareAccelerated) return;
        for (double x = -87; x <= 88; x += 0.0137)
        {
            float actual = VectorExp.Exp(Vector256.Create((float)x)).GetElement(0);
            double expected = Math.Exp((float)x);
            Assert.True(Math.Abs(actual - expected) <= 4e-7 * expected, $"e^{x}: {actual} against {expected}");
        }
    }
}
