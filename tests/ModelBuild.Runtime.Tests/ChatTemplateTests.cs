using ModelBuild.Runtime.Chat;

namespace ModelBuild.Runtime.Tests;

public class ChatTemplateTests
{
    private static readonly (string, string)[] Conversation = [("system", "Be brief."), ("user", "Hi?")];

    private static string Config(string template) => System.Text.Json.JsonSerializer.Serialize(new { chat_template = template });

    [Fact]
    public void ChatML_templates_are_rendered_from_the_models_jinja_and_stop_at_im_end()
    {
        var t = ChatTemplate.Detect(Config("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"));
        Assert.Equal(ChatTemplate.Family.ChatML, t.Kind);
        Assert.True(t.UsesModelTemplate);
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

    [Fact]
    public void The_models_template_decides_the_layout_bos_is_left_to_the_runtime_and_rejections_are_errors()
    {
        const string mistral = "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% endif %}{% endfor %}";
        string config = System.Text.Json.JsonSerializer.Serialize(new { chat_template = mistral, bos_token = new { content = "<s>" }, eos_token = "</s>" });
        var t = ChatTemplate.Detect(config);
        Assert.True(t.UsesModelTemplate);
        Assert.Equal("[INST] Hi [/INST]Yo</s>[INST] More? [/INST]", t.Format([("user", "Hi"), ("assistant", "Yo"), ("user", "More?")]));
        var e = Assert.Throws<ArgumentException>(() => t.Format(Conversation)); // a system turn breaks the alternation
        Assert.Contains("Conversation roles must alternate", e.Message);
    }

    [Fact]
    public void Named_template_lists_use_the_default_entry_and_unsupported_jinja_falls_back_to_the_family_layout()
    {
        string named = System.Text.Json.JsonSerializer.Serialize(new
        {
            chat_template = new object[]
            {
                new { name = "tool_use", template = "TOOLS" },
                new { name = "default", template = "{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}</s>\n{% endfor %}<|assistant|>\n" },
            },
        });
        Assert.Equal("<|system|>\nBe brief.</s>\n<|user|>\nHi?</s>\n<|assistant|>\n", ChatTemplate.Detect(named).Format(Conversation));
        var macro = ChatTemplate.Detect(Config("{% macro turn(m) %}<|user|>{% endmacro %}{{ '<|user|>' }}"));
        Assert.False(macro.UsesModelTemplate);
        Assert.Equal(ChatTemplate.Family.Zephyr, macro.Kind);
        Assert.Equal("<|system|>\nBe brief.</s>\n<|user|>\nHi?</s>\n<|assistant|>\n", macro.Format(Conversation));
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
