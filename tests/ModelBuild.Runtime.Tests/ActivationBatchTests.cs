using ModelBuild.Runtime.Kernels;

namespace ModelBuild.Runtime.Tests;

/// <summary>The int8 copy's reorderings, checked against their definitions rather than through a kernel.</summary>
public class ActivationBatchTests
{
    [Theory]
    [InlineData(1, 128)]
    [InlineData(3, 384)]
    [InlineData(2, 5632)]
    public void Nibble_order_and_lane_scales_follow_their_definitions(int tokens, int cols)
    {
        var batch = new ActivationBatch(tokens + 1, cols); // room for more tokens than used: strides come from Cols
        batch.Reset(tokens);
        KernelAgreementTests.RandomValues(tokens * cols, cols).CopyTo(batch.Values, 0);
        batch.EnsureQuantized();
        var codes = batch.Codes.Span;
        int blocks = cols / ActivationBatch.BlockSize;
        Assert.Contains(codes[..(tokens * cols)].ToArray(), c => c != 0);
        for (int t = 0; t < tokens; t++)
            for (int chunk = 0; chunk < cols; chunk += 128)
            {
                int at = t * cols + chunk;
                for (int k = 0; k < 64; k++)
                {
                    Assert.Equal(codes[at + 2 * k], batch.NibbleOrderCodes.Span[at + k]);          // even columns first
                    Assert.Equal(codes[at + 2 * k + 1], batch.NibbleOrderCodes.Span[at + 64 + k]); // then the odd ones
                }
                for (int lane = 0; lane < 16; lane++)
                    Assert.Equal(batch.BlockScales.Span[t * blocks + (chunk + 8 * lane) / ActivationBatch.BlockSize],
                        batch.NibbleLaneScales.Span[t * (cols / 8) + chunk / 8 + lane]);
                // A 16-bit lane j of byte products covers columns 4j .. 4j+3: its block's scale in the token's units.
                for (int lane = 0; lane < 32; lane++)
                    Assert.Equal(batch.BlockScales.Span[t * blocks + (chunk + 4 * lane) / ActivationBatch.BlockSize],
                        batch.NibbleLaneMultipliers.Span[t * (cols / 4) + chunk / 4 + lane] * batch.TokenUnits[t]);
            }
    }

    [Theory]
    [InlineData(1, 2048)]
    [InlineData(3, 384)]
    [InlineData(2, 96)]   // not whole 128-column chunks: block by block
    public void Codes_scales_and_sums_follow_the_definition(int tokens, int cols)
    {
        var batch = new ActivationBatch(tokens, cols);
        batch.Reset(tokens);
        var values = KernelAgreementTests.RandomValues(tokens * cols, cols + 1);
        values.AsSpan(32, 32).Clear(); // an all-zero block: scale 0, codes 0
        values.CopyTo(batch.Values, 0);
        batch.EnsureQuantized();
        for (int block = 0; block < tokens * cols / ActivationBatch.BlockSize; block++)
        {
            var x = values.AsSpan(block * ActivationBatch.BlockSize, ActivationBatch.BlockSize);
            int token = block * ActivationBatch.BlockSize / cols;
            float tokenMax = values.AsSpan(token * cols, cols).ToArray().Max(MathF.Abs);
            float unit = tokenMax / 127f / ActivationBatch.MaxMultiplier;
            Assert.Equal(unit, batch.TokenUnits[token]);
            float max = 0;
            foreach (float v in x) max = MathF.Max(max, MathF.Abs(v));
            // The scale max/127 rounded up to whole units, the largest block's being MaxMultiplier units (up to rounding).
            float multiplier = max > 0 ? Math.Min(MathF.Ceiling(max / 127f / unit), ActivationBatch.MaxMultiplier) : 0;
            float scale = unit * multiplier, inverse = max > 0 ? 1f / scale : 0f;
            if (max == tokenMax) Assert.True(multiplier >= ActivationBatch.MaxMultiplier - 1);
            int total = 0;
            for (int i = 0; i < x.Length; i++)
            {
                int q = (int)MathF.Round(x[i] * inverse); // half to even
                Assert.Equal(q, batch.Codes.Span[block * ActivationBatch.BlockSize + i]);
                total += q;
            }
            Assert.Equal(scale, batch.BlockScales.Span[block]);
            Assert.Equal(total * scale, batch.BlockSums.Span[block]);
        }
    }

    [Fact]
    public void A_token_holding_a_nan_gets_nan_scales_and_products()
    {
        var x = KernelAgreementTests.RandomValues(2 * 256, 3);
        x[256 + 77] = float.NaN; // the second token only
        var batch = KernelAgreementTests.Batch(x, 2, 256);
        Assert.True(float.IsFinite(batch.TokenUnits[0]));
        Assert.True(float.IsNaN(batch.TokenUnits[1]));
        Assert.All(batch.BlockScales.Span[8..16].ToArray(), s => Assert.True(float.IsNaN(s)));
        using var m = RandomQuantized.Create(4, 19, 256, 128, outliers: false, seed: 2);
        foreach (var path in new[] { KernelPath.Avx2, KernelPath.Avx512 }.Where(KernelPaths.IsSupported))
        {
            var y = KernelAgreementTests.Run(m.Matrix, batch, path);
            Assert.All(y[..19], v => Assert.True(float.IsFinite(v), $"{path}: the first token's products stay finite"));
            Assert.All(y[19..], v => Assert.True(float.IsNaN(v), $"{path}: the second token's products are NaN, not {v}"));
        }
    }
}
