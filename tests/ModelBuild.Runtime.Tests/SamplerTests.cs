using ModelBuild.Runtime.Generation;

namespace ModelBuild.Runtime.Tests;

public class SamplerTests
{
    private static readonly float[] Logits = { 0.1f, 3f, 2.9f, -1f, 0.5f, 2.95f };

    [Fact]
    public void Temperature_zero_is_greedy()
    {
        Assert.Equal(1, new Sampler(new GenerationOptions { Temperature = 0 }).Next(Logits));
    }

    [Fact]
    public void Top_k_one_is_greedy_whatever_the_seed()
    {
        for (int seed = 0; seed < 20; seed++)
            Assert.Equal(1, new Sampler(new GenerationOptions { Temperature = 1, TopK = 1, Seed = seed }).Next(Logits));
    }

    [Fact]
    public void Top_k_restricts_samples_to_the_k_most_likely_tokens()
    {
        var s = new Sampler(new GenerationOptions { Temperature = 5, TopK = 3, TopP = 1, Seed = 1 });
        var seen = Enumerable.Range(0, 500).Select(_ => s.Next(Logits)).ToHashSet();
        Assert.Equal(new HashSet<int> { 1, 2, 5 }, seen);
    }

    [Fact]
    public void Top_p_keeps_the_smallest_set_reaching_p()
    {
        // Token 0 has ~0.97 of the mass: with top_p 0.9 only it survives.
        var logits = new float[] { 10f, 6f, 5f, 4f };
        var s = new Sampler(new GenerationOptions { Temperature = 1, TopK = 0, TopP = 0.9f, Seed = 3 });
        Assert.All(Enumerable.Range(0, 200), _ => Assert.Equal(0, s.Next(logits)));
    }

    [Fact]
    public void The_same_seed_gives_the_same_sequence()
    {
        var o = new GenerationOptions { Temperature = 1.5f, TopK = 0, TopP = 1, Seed = 42 };
        var a = new Sampler(o);
        var b = new Sampler(o);
        var sa = Enumerable.Range(0, 50).Select(_ => a.Next(Logits)).ToArray();
        Assert.Equal(sa, Enumerable.Range(0, 50).Select(_ => b.Next(Logits)).ToArray());
        Assert.True(sa.Distinct().Count() > 2, "sampling at temperature 1.5 should vary");
    }
}
