using ModelBuild.Runtime.Chat.Jinja;

namespace ModelBuild.Runtime.Tests;

/// <summary>Chat templates as published in real models' tokenizer_config.json, rendered as transformers renders them.</summary>
public class JinjaTemplateTests
{
    private static List<object?> Messages(params (string Role, string Content)[] turns) =>
        turns.Select(t => (object?)new Dictionary<string, object?> { ["role"] = t.Role, ["content"] = t.Content }).ToList();

    private static readonly List<object?> Conversation = Messages(
        ("system", "You tell fortunes."), ("user", "Hello!"), ("assistant", "Greetings."), ("user", "What now?"));

    private static string Render(string template, List<object?> messages, bool addGenerationPrompt = true, string bos = "<s>", string eos = "</s>") =>
        JinjaTemplate.Parse(template).Render(new Dictionary<string, object?>
        {
            ["messages"] = messages, ["add_generation_prompt"] = addGenerationPrompt, ["bos_token"] = bos, ["eos_token"] = eos,
        });

    [Fact]
    public void TinyLlama_zephyr_template_with_newlines_between_tags_relies_on_trim_and_lstrip_blocks()
    {
        const string template = "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}";
        Assert.Equal("<|system|>\nYou tell fortunes.</s>\n<|user|>\nHello!</s>\n<|assistant|>\nGreetings.</s>\n<|user|>\nWhat now?</s>\n<|assistant|>\n",
            Render(template, Conversation));
        Assert.Equal("<|user|>\nHi</s>\n", Render(template, Messages(("user", "Hi")), addGenerationPrompt: false));
    }

    [Fact]
    public void Llama3_template_sets_content_adds_bos_once_and_trims()
    {
        const string template = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";
        Assert.Equal("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
            Render(template, Messages(("system", "Be brief."), ("user", "  Hi?\n")), bos: "<|begin_of_text|>"));
    }

    [Fact]
    public void Qwen25_template_with_whitespace_control_and_an_unused_tools_branch()
    {
        const string template = "{%- if tools %}\n    {{- '<|im_start|>system\\n' }}\n    {%- for tool in tools %}\n        {{- \"\\n\" }}\n        {{- tool | tojson }}\n    {%- endfor %}\n{%- else %}\n    {%- if messages[0]['role'] == 'system' %}\n        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n    {%- else %}\n        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}\n    {%- endif %}\n{%- endif %}\n{%- for message in messages %}\n    {%- if (message.role == \"user\") or (message.role == \"system\" and not loop.first) or (message.role == \"assistant\" and not message.tool_calls) %}\n        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}\n    {%- endif %}\n{%- endfor %}\n{%- if add_generation_prompt %}\n    {{- '<|im_start|>assistant\\n' }}\n{%- endif %}\n";
        Assert.Equal("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n",
            Render(template, Messages(("user", "Hello!"))));
        Assert.StartsWith("<|im_start|>system\nYou tell fortunes.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\nGreetings.<|im_end|>\n", Render(template, Conversation));
    }

    [Fact]
    public void Mistral_template_raises_when_roles_do_not_alternate()
    {
        const string template = "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";
        Assert.Equal("<s>[INST] Hello! [/INST]Greetings.</s>[INST] What now? [/INST]", Render(template, Conversation.Skip(1).ToList()));
        var e = Assert.Throws<JinjaException>(() => Render(template, Messages(("user", "a"), ("user", "b"))));
        Assert.Contains("Conversation roles must alternate", e.Message);
    }

    [Fact]
    public void Llama2_template_slices_the_system_message_off_and_strips_content()
    {
        const string template = "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";
        Assert.Equal("<s>[INST] <<SYS>>\nYou tell fortunes.\n<</SYS>>\n\nHello! [/INST] Greetings. </s><s>[INST] What now? [/INST]", Render(template, Conversation));
    }

    [Fact]
    public void Gemma_filter_binds_tighter_than_plus_and_roles_are_renamed_with_set()
    {
        const string template = "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}";
        Assert.Equal("<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nYo<end_of_turn>\n<start_of_turn>model\n",
            Render(template, Messages(("user", " Hi "), ("assistant", "Yo\n")), bos: "<bos>"));
    }

    [Fact]
    public void Namespaces_survive_loops_where_plain_set_does_not()
    {
        const string template = "{% set ns = namespace(found=false, count=0) %}{% set plain = 'outer' %}{% for m in messages %}{% if m.role == 'system' %}{% set ns.found = true %}{% endif %}{% set ns.count = ns.count + 1 %}{% set plain = 'inner' %}{% endfor %}{{ ns.found }} {{ ns.count }} {{ plain }}";
        Assert.Equal("True 4 outer", Render(template, Conversation));
    }

    [Fact]
    public void Expressions_tests_filters_and_loop_variables()
    {
        var vars = new Dictionary<string, object?>
        {
            ["items"] = new List<object?> { 1, 2, 3, 4 },
            ["d"] = new Dictionary<string, object?> { ["a"] = 1, ["b"] = "x" },
            ["s"] = "Hello World",
        };
        string Eval(string t) => JinjaTemplate.Parse(t).Render(vars);
        Assert.Equal("4,3,2,1", Eval("{{ items[::-1] | join(',') }}"));
        Assert.Equal("2-3", Eval("{{ items[1:3] | join('-') }}"));
        Assert.Equal("4", Eval("{{ items[-1] }}"));
        Assert.Equal("1:F 2:T 3:F 4:T", Eval("{% for i in items %}{{ i }}:{{ 'T' if i is even else 'F' }}{{ ' ' if not loop.last }}{% endfor %}"));
        Assert.Equal("none", Eval("{% for i in items if i > 9 %}{{ i }}{% else %}none{% endfor %}"));
        Assert.Equal("yes no", Eval("{{ 'yes' if d.a is defined }} {{ 'yes' if d.c is defined else 'no' }}"));
        Assert.Equal("True True False", Eval("{{ 'a' in d }} {{ 'World' in s }} {{ 3 not in items }}"));
        Assert.Equal("{\"a\": 1, \"b\": \"x\"}", Eval("{{ d | tojson }}"));
        Assert.Equal("HELLO WORLD|hello world|11|Hello", Eval("{{ s.upper() }}|{{ s | lower }}|{{ s | length }}|{{ s.split(' ')[0] }}"));
        Assert.Equal("7 2 1 x", Eval("{{ 1 + 2 * 3 }} {{ 7 // 3 }} {{ 7 % 3 }} {{ d.get('b') }}"));
        Assert.Equal("a=1;b=x;", Eval("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}"));
        Assert.Equal("fallback", Eval("{{ missing | default('fallback') }}"));
        Assert.Equal("ab", Eval("{#- a comment -#} {{- 'a' ~ 'b' -}} "));
    }

    [Theory]
    [InlineData("{% macro m() %}x{% endmacro %}", "unsupported")]
    [InlineData("{% if x %}never closed", "missing")]
    [InlineData("{{ 'unterminated }}", "unterminated string")]
    [InlineData("{{ x | no_such_filter }}", "unsupported filter")]
    public void Unsupported_or_malformed_templates_fail_with_a_JinjaException(string template, string message)
    {
        var e = Assert.ThrowsAny<JinjaException>(() => JinjaTemplate.Parse(template).Render(new Dictionary<string, object?> { ["x"] = "v" }));
        Assert.Contains(message, e.Message);
    }
}
