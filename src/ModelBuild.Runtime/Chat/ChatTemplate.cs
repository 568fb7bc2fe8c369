using System.Text;
using System.Text.Json;
using ModelBuild.Runtime.Chat.Jinja;

namespace ModelBuild.Runtime.Chat;

/// <summary>
/// How a model expects a conversation laid out: the Jinja chat_template from tokenizer_config.json, rendered as
/// transformers' apply_chat_template renders it (<see cref="JinjaTemplate"/>). The template's family (ChatML as in
/// Qwen2, Llama 3 headers, Zephyr/TinyLlama tags, Llama 2 [INST]) is recognised by its marker tokens to know where an
/// assistant turn ends, and lays the conversation out when the template uses Jinja we do not run. A model with no
/// template gets a plain "User:/Assistant:" transcript.
/// </summary>
public sealed class ChatTemplate
{
    /// <summary>Layout families, recognised by their marker tokens.</summary>
    public enum Family { Plain, ChatML, Llama3, Zephyr, Llama2 }

    /// <summary>The family the template belongs to.</summary>
    public Family Kind { get; }
    /// <summary>Text that ends an assistant turn in this layout (generation stops there).</summary>
    public IReadOnlyList<string> StopSequences { get; }
    /// <summary>True when conversations are rendered by the model's own Jinja template (false: the family's layout).</summary>
    public bool UsesModelTemplate => _template is not null;

    private readonly JinjaTemplate? _template;
    private readonly string _bosToken, _eosToken;

    private ChatTemplate(Family kind, string[] stops, JinjaTemplate? template, string bos, string eos) =>
        (Kind, StopSequences, _template, _bosToken, _eosToken) = (kind, stops, template, bos, eos);

    /// <summary>Reads chat_template, bos_token and eos_token from tokenizer_config.json (null or invalid: plain transcript).</summary>
    public static ChatTemplate Detect(string? tokenizerConfigJson)
    {
        string? source = null;
        string bos = "", eos = "";
        if (!string.IsNullOrEmpty(tokenizerConfigJson))
        {
            try
            {
                using var doc = JsonDocument.Parse(tokenizerConfigJson);
                var root = doc.RootElement;
                if (root.ValueKind == JsonValueKind.Object)
                {
                    source = TemplateSource(root);
                    bos = TokenText(root, "bos_token");
                    eos = TokenText(root, "eos_token");
                }
            }
            catch (JsonException) { }
        }
        if (source is null) return new(Family.Plain, ["\nUser:"], null, bos, eos);
        JinjaTemplate? template;
        try { template = JinjaTemplate.Parse(source); }
        catch (JinjaException) { template = null; }
        var (kind, stops) =
            source.Contains("<|im_start|>") ? (Family.ChatML, new[] { "<|im_end|>" })
            : source.Contains("<|start_header_id|>") ? (Family.Llama3, new[] { "<|eot_id|>" })
            : source.Contains("<|user|>") ? (Family.Zephyr, new[] { "</s>", "<|user|>" })
            : source.Contains("[INST]") ? (Family.Llama2, new[] { "</s>", "[INST]" })
            : (Family.Plain, new[] { "\nUser:" });
        return new(kind, stops, template, bos, eos);
    }

    /// <summary>chat_template is a string, or a list of named templates of which "default" is the chat one.</summary>
    private static string? TemplateSource(JsonElement root)
    {
        if (!root.TryGetProperty("chat_template", out var t)) return null;
        if (t.ValueKind == JsonValueKind.String) return t.GetString();
        if (t.ValueKind != JsonValueKind.Array) return null;
        string? first = null;
        foreach (var named in t.EnumerateArray())
        {
            if (named.ValueKind != JsonValueKind.Object || !named.TryGetProperty("template", out var text) || text.ValueKind != JsonValueKind.String) continue;
            first ??= text.GetString();
            if (named.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String && name.GetString() == "default") return text.GetString();
        }
        return first;
    }

    /// <summary>Special tokens are a string or an AddedToken object with "content".</summary>
    private static string TokenText(JsonElement root, string name) =>
        !root.TryGetProperty(name, out var v) ? ""
        : v.ValueKind == JsonValueKind.String ? v.GetString() ?? ""
        : v.ValueKind == JsonValueKind.Object && v.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() ?? ""
        : "";

    /// <summary>
    /// The prompt for <paramref name="messages"/> (role, text), ending where the assistant's reply begins. A leading
    /// BOS token is left out: the runtime adds BOS itself.
    /// </summary>
    /// <exception cref="ArgumentException">The model's template rejects the conversation (e.g. roles that do not alternate).</exception>
    public string Format(IEnumerable<(string Role, string Text)> messages)
    {
        var list = messages.ToList();
        if (_template is not null)
        {
            try
            {
                string text = _template.Render(new Dictionary<string, object?>
                {
                    ["messages"] = list.Select(m => (object?)new Dictionary<string, object?> { ["role"] = m.Role, ["content"] = m.Text }).ToList(),
                    ["add_generation_prompt"] = true,
                    ["bos_token"] = _bosToken,
                    ["eos_token"] = _eosToken,
                });
                return _bosToken.Length > 0 && text.StartsWith(_bosToken, StringComparison.Ordinal) ? text[_bosToken.Length..] : text;
            }
            catch (JinjaException e) when (e.RaisedByTemplate)
            {
                throw new ArgumentException(e.Message, nameof(messages), e);
            }
            catch (JinjaException)
            {
                // Jinja we cannot run: the family's layout below.
            }
        }
        return FamilyLayout(list);
    }

    private string FamilyLayout(List<(string Role, string Text)> list)
    {
        var sb = new StringBuilder();
        switch (Kind)
        {
            case Family.ChatML:
                foreach (var (role, text) in list) sb.Append("<|im_start|>").Append(role).Append('\n').Append(text).Append("<|im_end|>\n");
                return sb.Append("<|im_start|>assistant\n").ToString();
            case Family.Llama3:
                foreach (var (role, text) in list) sb.Append("<|start_header_id|>").Append(role).Append("<|end_header_id|>\n\n").Append(text.Trim()).Append("<|eot_id|>");
                return sb.Append("<|start_header_id|>assistant<|end_header_id|>\n\n").ToString();
            case Family.Zephyr:
                foreach (var (role, text) in list) sb.Append("<|").Append(role).Append("|>\n").Append(text).Append("</s>\n");
                return sb.Append("<|assistant|>\n").ToString();
            case Family.Llama2:
                string system = string.Concat(list.Where(m => m.Role == "system").Select(m => $"<<SYS>>\n{m.Text}\n<</SYS>>\n\n"));
                foreach (var (role, text) in list.Where(m => m.Role != "system"))
                    sb.Append(role == "user" ? $"[INST] {system}{text} [/INST]" : $" {text} </s>");
                return sb.ToString();
            default:
                foreach (var (role, text) in list) sb.Append(char.ToUpperInvariant(role[0])).Append(role[1..]).Append(": ").Append(text).Append('\n');
                return sb.Append("Assistant:").ToString();
        }
    }
}
