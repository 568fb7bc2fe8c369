using ModelBuild.Runtime.Kernels;

namespace ModelBuild.Runtime.Tests;

public class SwiGluTests
{
    private static double Reference(double g, double u) => g * u / (1 + Math.Exp(-g));

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(5635)] // TinyLlama's 5632 and a ragged end
    public void Matches_a_double_precision_SiLU_gate(int length)
    {
        var rng = new Random(length);
        var gate = new float[length];
        var up = new float[length];
        for (int i = 0; i < length; i++)
        {
            // Mostly where MLP pre-activations live, some far out where e^−g is huge or vanishing.
            gate[i] = i % 17 == 0 ? (float)(rng.NextDouble() * 240 - 120) : (float)(rng.NextDouble() * 16 - 8);
            up[i] = (float)(rng.NextDouble() * 6 - 3);
        }
        var expected = gate.Select((g, i) => Reference(g, up[i])).ToArray();
        var upBefore = up.ToArray();

        SwiGlu.InPlace(gate, up);

        for (int i = 0; i < length; i++)
            Assert.True(Math.Abs(gate[i] - expected[i]) <= 1e-6 * Math.Abs(expected[i]) + 1e-30,
                $"element {i}: {gate[i]} against {expected[i]}");
        Assert.Equal(upBefore, up);
    }

    [Fact]
    public void Nan_stays_nan_and_large_gates_saturate()
    {
        var gate = Enumerable.Repeat(1f, 16).ToArray();
        gate[3] = float.NaN;
        gate[5] = 1000f;   // SiLU(g) = g
        gate[6] = -1000f;  // SiLU(g) = 0
        var up = Enumerable.Repeat(2f, 16).ToArray();
        SwiGlu.InPlace(gate, up);
        Assert.True(float.IsNaN(gate[3]));
        Assert.Equal(2000f, gate[5]);
        Assert.True(Math.Abs(gate[6]) < 1e-30f, $"SiLU(-1000) · 2 = {gate[6]}");
        Assert.Equal(Reference(1, 2), gate[0], 6);
    }

    [Fact]
    public void Up_shorter_than_gate_is_refused() =>
        Assert.Throws<ArgumentException>(() => SwiGlu.InPlace(new float[8], new float[7]));
}
