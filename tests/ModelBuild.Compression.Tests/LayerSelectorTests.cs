using ModelBuild.Compression.Pipeline;

namespace ModelBuild.Compression.Tests;

public class LayerSelectorTests
{
    [Theory]
    [InlineData("model.layers.0.self_attn.q_proj.weight", true)]
    [InlineData("model.layers.3.mlp.down_proj.weight", true)]
    [InlineData("model.layers.3.input_layernorm.weight", false)]
    [InlineData("model.embed_tokens.weight", false)]
    [InlineData("lm_head.weight", false)]
    [InlineData("model.layers.0.self_attn.q_proj.bias", false)]
    public void Default_targets_cover_attention_and_mlp_projections_only(string name, bool expected) =>
        Assert.Equal(expected, LayerSelector.Matches(name, new[] { "attention", "mlp" }, Array.Empty<string>()));

    [Fact]
    public void Ignore_wins_over_targets()
    {
        Assert.True(LayerSelector.Matches("lm_head.weight", new[] { "lm_head" }, Array.Empty<string>()));
        Assert.False(LayerSelector.Matches("lm_head.weight", new[] { "lm_head" }, new[] { "lm_head" }));
        Assert.False(LayerSelector.Matches("model.layers.1.mlp.up_proj.weight", new[] { "mlp" }, new[] { "up_proj" }));
    }
}
