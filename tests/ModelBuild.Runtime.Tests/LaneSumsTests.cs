using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ModelBuild.Runtime.Kernels;

namespace ModelBuild.Runtime.Tests;

public class LaneSumsTests
{
    private static Vector512<float> Random(Random rng, bool whole) =>
        Vector512.Create(Enumerable.Range(0, 16).Select(_ => whole ? rng.Next(-1000, 1000) : rng.NextSingle() * 200 - 100).ToArray());

    [Fact]
    public void Two_rows_sum_to_their_own_totals()
    {
        if (!Avx.IsSupported) return; // only the AVX-512 kernels call it
        var rng = new Random(7);
        for (int i = 0; i < 200; i++)
        {
            // Whole numbers add exactly in any order, so each sum must equal its row's total, not the other's.
            var (a, b) = (Random(rng, whole: true), Random(rng, whole: true));
            var (sumA, sumB) = LaneSums.Of(a, b);
            Assert.Equal(Vector512.Sum(a), sumA);
            Assert.Equal(Vector512.Sum(b), sumB);
        }
    }

    [Fact]
    public void A_row_gets_the_same_bits_alone_or_beside_any_other()
    {
        if (!Avx.IsSupported) return;
        var rng = new Random(8);
        for (int i = 0; i < 200; i++)
        {
            var (a, b, c) = (Random(rng, whole: false), Random(rng, whole: false), Random(rng, whole: false));
            float alone = LaneSums.Of(a);
            Assert.Equal(alone, LaneSums.Of(a, b).First);
            Assert.Equal(alone, LaneSums.Of(a, c).First);
            Assert.Equal(alone, LaneSums.Of(c, a).Second);
            Assert.Equal((double)Vector512.Sum(a), alone, 1e-3);
        }
    }
}
