using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
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

    [Fact]
    public void SubtractFrom_spreads_the_term_over_the_lanes_and_reads_no_group_past_the_last()
    {
        if (!Avx512F.IsSupported) return; // the AVX-512 kernels' finish; other paths use Sum
        var rng = new Random(6);
        for (int groups = 0; groups <= 45; groups++)
        {
            // NaNs past the last group: a lane that read one would poison the result.
            var scaleZeros = Enumerable.Repeat(float.NaN, groups + 16).ToArray();
            var groupSums = Enumerable.Repeat(float.NaN, groups + 16).ToArray();
            var lanes = new float[16];
            double expected = 0;
            for (int i = 0; i < 16; i++) expected += lanes[i] = rng.NextSingle() * 2 - 1;
            for (int g = 0; g < groups; g++)
            {
                scaleZeros[g] = rng.NextSingle() * 0.1f;
                groupSums[g] = rng.NextSingle() * 8 - 4;
                expected -= (double)scaleZeros[g] * groupSums[g];
            }
            fixed (float* a = scaleZeros, b = groupSums)
                Assert.Equal(expected, Vector512.Sum(ZeroPointTerm.SubtractFrom(Vector512.Create(lanes), a, b, groups)), 1e-5);
        }
    }
}
