using ModelBuild.Runtime.Kernels;

namespace ModelBuild.Runtime.Tests;

public unsafe class ZeroPointTermTests
{
    [Fact]
    public void Sum_covers_every_group_whole_vectors_and_tail_alike()
    {
        var rng = new Random(5);
        for (int groups = 0; groups <= 45; groups++)
        {
            var scaleZeros = new float[groups];
            var groupSums = new float[groups];
            double expected = 0;
            for (int g = 0; g < groups; g++)
            {
                scaleZeros[g] = rng.NextSingle() * 0.1f;
                groupSums[g] = rng.NextSingle() * 8 - 4;
                expected += (double)scaleZeros[g] * groupSums[g];
            }
            fixed (float* a = scaleZeros, b = groupSums)
                Assert.Equal(expected, ZeroPointTerm.Sum(a, b, groups), 1e-5);
        }
    }
}
