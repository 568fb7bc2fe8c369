using ModelBuild.Runtime.Tokenization;
using ModelBuild.Tests;

namespace ModelBuild.Runtime.Tests;

public class TokenizerTests
{
    private static ModelTokenizer Fixture() =>
        ModelTokenizer.FromJson(File.ReadAllText(Path.Combine(RepoPaths.FixtureModel, "tokenizer.json")), 1, 2);

    [Theory]
    [InlineData("The meaning of life is")]
    [InlineData("  indented\n\ttabs\t and   spaces  ")]
    [InlineData("Ünïcödé — “quotes” 日本語 🙂")]
    [InlineData("")]
    public void Encode_then_decode_is_lossless(string text)
    {
        var tok = Fixture();
        Assert.Equal(text, tok.Decode(tok.Encode(text)));
    }

    [Fact]
    public void Merges_compress_English_well_below_one_token_per_byte()
    {
        var tok = Fixture();
        string text = File.ReadAllText(RepoPaths.FixtureEvalText)[..5000];
        int tokens = tok.Encode(text).Length;
        Assert.InRange(tokens, 500, 2500);
        Assert.DoesNotContain(tok.Encode(text), id => id is 0 or 1 or 2);
    }

    [Fact]
    public void Special_tokens_are_not_rendered_as_text()
    {
        var tok = Fixture();
        var ids = new List<int> { tok.BosId };
        ids.AddRange(tok.Encode("hello"));
        ids.Add(tok.EosId);
        Assert.Equal("hello", tok.Decode(ids));
    }

    [Theory]
    [InlineData("{", "invalid JSON")]
    [InlineData("{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}", "not supported")]
    [InlineData("{\"version\": \"1.0\"}", "'model' is missing")]
    public void Bad_tokenizer_json_fails_clearly(string json, string expected)
    {
        var e = Assert.ThrowsAny<Exception>(() => ModelTokenizer.FromJson(json, 1, 2));
        Assert.True(e is FormatException or NotSupportedException);
        Assert.Contains(expected, e.Message);
    }
}
