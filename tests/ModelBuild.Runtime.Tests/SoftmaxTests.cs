using ModelBuild.Runtime.Generation;
using ModelBuild.Runtime.Kernels;

namespace ModelBuild.Runtime.Tests;

public class SoftmaxTests
{
    [Fact]
    public void Large_scores_do_not_overflow()
    {
        var x = new float[] { 1000f, 999f, -1000f };
        Softmax.InPlace(x);
        Assert.All(x, v => Assert.True(float.IsFinite(v)));
        Assert.Equal(1f / (1f + MathF.Exp(-1)), x[0], 5);
        Assert.Equal(0f, x[2]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    [InlineData(13)]
    [InlineData(1057)]
    public void Matches_a_double_precision_softmax(int length)
    {
        var rng = new Random(length);
        var x = Enumerable.Range(0, length).Select(_ => (float)(rng.NextDouble() * 60 - 30)).ToArray();
        // The shifted scores as float rounds them (x − max is a float subtraction; its rounding is not the exp's error).
        float max = x.Max();
        var shifted = x.Select(v => (double)(v - max)).ToArray();
        double sum = shifted.Sum(Math.Exp);
        var expected = shifted.Select(d => Math.Exp(d) / sum).ToArray();
        Softmax.InPlace(x);
        for (int i = 0; i < length; i++)
            Assert.True(Math.Abs(x[i] - expected[i]) <= 1e-6 * expected[i] + 1e-30, $"element {i}: {x[i]} against {expected[i]}");
    }

    [Fact]
    public void Masked_scores_get_exactly_zero_in_the_vector_lanes()
    {
        var x = Enumerable.Repeat(float.NegativeInfinity, 16).ToArray();
        x[2] = 1f;
        x[9] = -200f; // e^(−201) is below float's range
        x[11] = 1f;
        Softmax.InPlace(x);
        Assert.Equal(0.5f, x[2], 6);
        Assert.Equal(0.5f, x[11], 6);
        Assert.All(x.Where((_, i) => i != 2 && i != 11), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Sampling_from_huge_logits_still_works()
    {
        var s = new Sampler(new GenerationOptions { Temperature = 0.5f, Seed = 1 });
        Assert.Equal(0, s.Next(new float[] { 500f, 100f, -300f }));
    }
}
