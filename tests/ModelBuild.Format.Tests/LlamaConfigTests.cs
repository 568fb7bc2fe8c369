using ModelBuild.Format.Config;

namespace ModelBuild.Format.Tests;

public class LlamaConfigTests
{
    private const string TinyLlama = """
        {"architectures":["LlamaForCausalLM"],"model_type":"llama","vocab_size":32000,"hidden_size":2048,"intermediate_size":5632,
         "num_hidden_layers":22,"num_attention_heads":32,"num_key_value_heads":4,"max_position_embeddings":2048,
         "rms_norm_eps":1e-05,"rope_theta":10000.0,"rope_scaling":null,"tie_word_embeddings":false,"bos_token_id":1,"eos_token_id":2}
        """;

    [Fact]
    public void Parses_a_TinyLlama_config_with_GQA_and_derived_head_dim()
    {
        var c = LlamaConfig.Parse(TinyLlama);
        Assert.Equal(64, c.HeadDim);
        Assert.Equal(4, c.NumKeyValueHeads);
        Assert.Equal(1e-5, c.RmsNormEps);
        Assert.Null(c.RopeScaling);
        Assert.False(c.AttentionBias);
    }

    [Fact]
    public void Llama3_rope_scaling_slows_only_long_wavelengths()
    {
        string json = TinyLlama.Replace("\"rope_scaling\":null", "\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8.0,\"low_freq_factor\":1.0,\"high_freq_factor\":4.0,\"original_max_position_embeddings\":8192}")
            .Replace("\"rope_theta\":10000.0", "\"rope_theta\":500000.0");
        var c = LlamaConfig.Parse(json);
        Assert.Equal("llama3", c.RopeScaling!.Type);
        var scaled = RopeFrequencies.InverseFrequencies(c);
        var plain = RopeFrequencies.InverseFrequencies(c with { RopeScaling = null });
        Assert.Equal(plain[0], scaled[0], 12);                       // highest frequency untouched
        Assert.Equal(plain[^1] / 8, scaled[^1], 12);                  // lowest frequency divided by factor
        Assert.Contains(scaled.Zip(plain), p => p.First < p.Second && p.First > p.Second / 8); // a smoothed band between
    }

    [Fact]
    public void Qwen2_defaults_to_qkv_bias_and_linear_scaling_divides_all_frequencies()
    {
        var c = LlamaConfig.Parse(TinyLlama.Replace("\"llama\"", "\"qwen2\"").Replace("\"rope_scaling\":null", "\"rope_scaling\":{\"type\":\"linear\",\"factor\":2.0}"));
        Assert.True(c.AttentionBias);
        var scaled = RopeFrequencies.InverseFrequencies(c);
        var plain = RopeFrequencies.InverseFrequencies(c with { RopeScaling = null });
        Assert.All(scaled.Zip(plain), p => Assert.Equal(p.Second / 2, p.First, 12));
    }

    [Theory]
    [InlineData("\"num_key_value_heads\":4", "\"num_key_value_heads\":5", "multiple")]
    [InlineData("\"hidden_size\":2048,", "", "hidden_size")]
    [InlineData("\"vocab_size\":32000", "\"vocab_size\":\"many\"", "vocab_size")]
    public void Bad_configs_fail_with_a_message_naming_the_problem(string from, string to, string expected)
    {
        var e = Assert.ThrowsAny<FormatException>(() => LlamaConfig.Parse(TinyLlama.Replace(from, to)));
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData("\"model_type\":\"gpt2\"")]
    [InlineData("\"rope_scaling\":{\"type\":\"yarn\",\"factor\":4.0}")]
    public void Unsupported_architectures_are_NotSupported_naming_the_field(string replacement)
    {
        string json = replacement.StartsWith("\"model_type") ? TinyLlama.Replace("\"model_type\":\"llama\"", replacement) : TinyLlama.Replace("\"rope_scaling\":null", replacement);
        var e = Assert.Throws<NotSupportedException>(() => LlamaConfig.Parse(json));
        Assert.Contains(replacement.Contains("gpt2") ? "model_type 'gpt2'" : "rope_scaling type 'yarn'", e.Message);
    }

    [Theory]
    [InlineData("[1, 2]", "expected a JSON object")]
    [InlineData("{\"model_type\": ", "invalid JSON at line 1")]
    public void Malformed_json_is_reported_as_such(string json, string expected)
    {
        var e = Assert.Throws<FormatException>(() => LlamaConfig.Parse(json));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void ToJson_round_trips()
    {
        var c = LlamaConfig.Parse(TinyLlama);
        Assert.Equal(c, LlamaConfig.Parse(c.ToJson()));
    }
}
