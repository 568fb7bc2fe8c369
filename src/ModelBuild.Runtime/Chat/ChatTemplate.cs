using System.Text;
using System.Text.Json;

namespace ModelBuild.Runtime.Chat;

/// <summary>
/// How a model expects a conversation laid out. tokenizer_config.json carries a Jinja chat_template; rather
/// than run Jinja, the runtime recognises the common families by their marker tokens (ChatML as in Qwen2,
/// Llama 3 headers, Zephyr/TinyLlama tags, Llama 2 [INST]) and lays messages out the same way. A model with
/// no template gets a plain "User:/Assistant:" transcript.
/// </summary>
public sealed class ChatTemplate
{
    public enum Family { Plain, ChatML, Llama3, Zephyr, Llama2 }

    public Family Kind { get; }
    /// <summary>Text that ends an assistant turn in this layout (generation stops there).</summary>
    public IReadOnlyList<string> StopSequences { get; }

    private ChatTemplate(Family kind, params string[] stops) => (Kind, StopSequences) = (kind, stops);

    public static ChatTemplate Detect(string? tokenizerConfigJson)
    {
        string? template = null;
        if (!string.IsNullOrEmpty(tokenizerConfigJson))
        {
            try
            {
                using var doc = JsonDocument.Parse(tokenizerConfigJson);
                if (doc.RootElement.TryGetProperty("chat_template", out var t) && t.ValueKind == JsonValueKind.String) template = t.GetString();
            }
            catch (JsonException) { }
        }
        if (template is null) return new(Family.Plain, "\nUser:");
        if (template.Contains("<|im_start|>")) return new(Family.ChatML, "<|im_end|>");
        if (template.Contains("<|start_header_id|>")) return new(Family.Llama3, "<|eot_id|>");
        if (template.Contains("<|user|>")) return new(Family.Zephyr, "</s>", "<|user|>");
        if (template.Contains("[INST]")) return new(Family.Llama2, "</s>", "[INST]");
        return new(Family.Plain, "\nUser:");
    }

    /// <summary>The prompt for <paramref name="messages"/> (role, text), ending where the assistant's reply begins.</summary>
    public string Format(IEnumerable<(string Role, string Text)> messages)
    {
        var sb = new StringBuilder();
        var list = messages.ToList();
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
