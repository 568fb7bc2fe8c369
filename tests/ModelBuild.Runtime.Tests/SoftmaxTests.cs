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

    [Fact]
    public void Sampling_from_huge_logits_still_works()
    {
        var s = new Sampler(new GenerationOptions { Temperature = 0.5f, Seed = 1 });
        Assert.Equal(0, s.Next(new float[] { 500f, 100f, -300f }));
    }
}
