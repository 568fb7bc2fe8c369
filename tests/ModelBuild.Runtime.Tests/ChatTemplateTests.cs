using ModelBuild.Runtime.Chat;

namespace ModelBuild.Runtime.Tests;

public class ChatTemplateTests
{
    private static readonly (string, string)[] Conversation = [("system", "Be brief."), ("user", "Hi?")];

    private static string Config(string template) => System.Text.Json.JsonSerializer.Serialize(new { chat_template = template });

    [Fact]
    public void ChatML_templates_are_laid_out_with_im_start_and_end_and_stop_at_im_end()
    {
        var t = ChatTemplate.Detect(Config("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>'}}{% endfor %}"));
        Assert.Equal(ChatTemplate.Family.ChatML, t.Kind);
        Assert.Equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi?<|im_end|>\n<|im_start|>assistant\n", t.Format(Conversation));
        Assert.Contains("<|im_end|>", t.StopSequences);
    }

    [Fact]
    public void Llama3_and_Zephyr_templates_are_recognised_by_their_markers()
    {
        var llama3 = ChatTemplate.Detect(Config("{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>' }}"));
        Assert.Equal(ChatTemplate.Family.Llama3, llama3.Kind);
        Assert.EndsWith("<|start_header_id|>assistant<|end_header_id|>\n\n", llama3.Format(Conversation));
        var zephyr = ChatTemplate.Detect(Config("{% if message['role'] == 'user' %}{{ '<|user|>\\n' + message['content'] + eos_token }}"));
        Assert.Equal(ChatTemplate.Family.Zephyr, zephyr.Kind);
        Assert.Equal("<|system|>\nBe brief.</s>\n<|user|>\nHi?</s>\n<|assistant|>\n", zephyr.Format(Conversation));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("{\"tokenizer_class\": \"PreTrainedTokenizerFast\"}")]
    [InlineData("not json")]
    public void Models_without_a_template_get_a_plain_transcript(string? config)
    {
        var t = ChatTemplate.Detect(config);
        Assert.Equal(ChatTemplate.Family.Plain, t.Kind);
        Assert.Equal("System: Be brief.\nUser: Hi?\nAssistant:", t.Format(Conversation));
    }
}
