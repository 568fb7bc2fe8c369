using ILGPU;
using ILGPU.Runtime;
using ModelBuild.Runtime.Gpu;

namespace ModelBuild.Runtime.Tests;

/// <summary>The device forward's multi-step RMSNorm and attention kernels (ILGPU's CPU accelerator) against plain loops.</summary>
public class IlgpuForwardKernelTests
{
    [Theory]
    [InlineData(256, 3)]
    [InlineData(37, 2)] // fewer values than twice the slices: the last slices are empty
    [InlineData(1000, 1)]
    public void RmsNorm_in_slices_matches_the_row_at_once(int width, int tokens)
    {
        const int slices = 32;
        const float eps = 1e-5f;
        var x = KernelAgreementTests.RandomValues(width * tokens, seed: width);
        var weight = KernelAgreementTests.RandomValues(width, seed: 7);
        using var device = IlgpuDevice.Create(requireCuda: false);
        var acc = device.Accelerator;
        using var xs = acc.Allocate1D(x);
        using var w = acc.Allocate1D(weight);
        using var partial = acc.Allocate1D<float>(tokens * slices);
        using var dst = acc.Allocate1D<float>(width * tokens);
        device.SquareSums(new Index2D(slices, tokens), xs.View, partial.View, width, slices);
        device.Normalize(new Index2D(width, tokens), xs.View, partial.View, w.View, dst.View, width, slices, eps);
        var actual = dst.GetAsArray1D();
        for (int t = 0; t < tokens; t++)
        {
            double sum = 0;
            for (int i = 0; i < width; i++) sum += (double)x[t * width + i] * x[t * width + i];
            double inv = 1 / Math.Sqrt(sum / width + eps);
            for (int i = 0; i < width; i++)
            {
                double expected = x[t * width + i] * inv * weight[i];
                Assert.True(Math.Abs(actual[t * width + i] - expected) < 1e-5 * (1 + Math.Abs(expected)), $"t={t} i={i}: {actual[t * width + i]} vs {expected}");
            }
        }
    }

    [Theory]
    [InlineData(8, 4, 32, 5, 3)] // grouped-query heads, a chunk of 3 tokens after 5 cached positions
    [InlineData(4, 4, 16, 0, 4)] // a first chunk
    [InlineData(6, 2, 8, 40, 1)] // one decoded token deep in the cache
    public void Attention_in_three_steps_matches_a_causal_softmax(int heads, int kvHeads, int headDim, int start, int tokens)
    {
        int capacity = start + tokens + 3, kvDim = kvHeads * headDim, group = heads / kvHeads;
        var q = KernelAgreementTests.RandomValues(tokens * heads * headDim, seed: 1);
        var keys = KernelAgreementTests.RandomValues(capacity * kvDim, seed: 2);
        var values = KernelAgreementTests.RandomValues(capacity * kvDim, seed: 3);
        using var device = IlgpuDevice.Create(requireCuda: false);
        var acc = device.Accelerator;
        using var qs = acc.Allocate1D(q);
        using var ks = acc.Allocate1D(keys);
        using var vs = acc.Allocate1D(values);
        using var scores = acc.Allocate1D<float>(tokens * heads * capacity);
        using var inverseSums = acc.Allocate1D<float>(tokens * heads);
        using var output = acc.Allocate1D<float>(tokens * heads * headDim);
        device.AttentionScores(new Index3D(start + tokens, heads, tokens), qs.View, ks.View, scores.View, start, heads, kvHeads, headDim, capacity);
        device.AttentionSoftmax(new Index2D(heads, tokens), scores.View, inverseSums.View, start, heads, capacity);
        device.AttentionValues(new Index3D(headDim, heads, tokens), scores.View, inverseSums.View, vs.View, output.View, start, heads, kvHeads, headDim, capacity);
        var actual = output.GetAsArray1D();
        for (int t = 0; t < tokens; t++)
            for (int h = 0; h < heads; h++)
            {
                int length = start + t + 1, kv = h / group * headDim;
                var weights = new double[length];
                for (int p = 0; p < length; p++)
                {
                    double dot = 0;
                    for (int d = 0; d < headDim; d++) dot += (double)q[(t * heads + h) * headDim + d] * keys[p * kvDim + kv + d];
                    weights[p] = dot / Math.Sqrt(headDim);
                }
                double max = weights.Max(), sum = weights.Sum(s => Math.Exp(s - max));
                for (int d = 0; d < headDim; d++)
                {
                    double expected = 0;
                    for (int p = 0; p < length; p++) expected += Math.Exp(weights[p] - max) / sum * values[p * kvDim + kv + d];
                    float got = actual[(t * heads + h) * headDim + d];
                    Assert.True(Math.Abs(got - expected) < 1e-5, $"t={t} head={h} d={d}: {got} vs {expected}");
                }
            }
    }

    [Fact]
    public void Interleaving_puts_item_k_of_every_row_together()
    {
        // 3 rows of 6 code bytes: two words a row, the second half padding.
        var codes = Enumerable.Range(0, 18).Select(i => (byte)(i + 1)).ToArray();
        var words = RowInterleaving.Words(codes, rows: 3, rowBytes: 6);
        Assert.Equal(6, words.Length);
        Assert.Equal(0x04030201u, words[0]); // row 0, bytes 0-3
        Assert.Equal(0x0A090807u, words[1]); // row 1, bytes 0-3
        Assert.Equal(0x00000605u, words[3]); // row 0, bytes 4-5 and padding
        Assert.Equal(0x00001211u, words[5]); // row 2, bytes 4-5
        var items = RowInterleaving.Items([1, 2, 3, 4, 5, 6], rows: 2, perRow: 3);
        Assert.Equal([1f, 4, 2, 5, 3, 6], items);
    }
}

public class ProductSlicesTests
{
    [Theory]
    [InlineData(2048, 1, 16, 16, 1)]   // a decode product: one group per slice
    [InlineData(32000, 1, 16, 2, 8)]   // a vocabulary head: already 32 000 threads
    [InlineData(2048, 128, 16, 1, 16)] // prefill: no slicing
    [InlineData(100, 1, 9, 9, 1)]      // fewer units than the wanted slices
    [InlineData(6000, 1, 30, 10, 3)]   // 10 slices of 3 units
    [InlineData(16384, 1, 9, 3, 3)]    // 4 wanted, 9 units: 3 slices of 3, not a fourth empty one
    [InlineData(16384, 1, 10, 4, 3)]   // 4 wanted, 10 units: the last slice has 1
    public void Columns_are_cut_into_whole_non_empty_slices(int rowCount, int tokens, int units, int slices, int perSlice)
    {
        var s = Gpu.ProductSlices.For(0, rowCount, rowCount, units * 128, tokens, units, 128, 4);
        Assert.Equal(slices, s.Slices);
        Assert.Equal(perSlice, s.PerSlice);
        Assert.True((s.Slices - 1) * s.PerSlice < units && s.Slices * s.PerSlice >= units, "every slice has units and all are covered");
    }

    [Fact]
    public void Partial_sums_go_to_their_slice_token_and_launched_row()
    {
        var sliced = new Gpu.ProductSlices(rowStart: 10, rowCount: 5, rows: 40, cols: 256, tokens: 3, slices: 2, perSlice: 1, groupSize: 128, containerBits: 4);
        Assert.Equal((1L * 3 + 2) * 5 + 4, sliced.Target(1, 2, 14));
        var whole = new Gpu.ProductSlices(10, 5, 40, 256, 3, 1, 2, 128, 4);
        Assert.Equal(2L * 40 + 14, whole.Target(0, 2, 14));
    }
}
