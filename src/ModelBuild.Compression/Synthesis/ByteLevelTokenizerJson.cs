using System.Text.Json.Nodes;

namespace ModelBuild.Compression.Synthesis;

/// <summary>A Hugging Face tokenizer.json for a GPT-2-style byte-level BPE vocabulary (special tokens first).</summary>
public static class ByteLevelTokenizerJson
{
    /// <summary>GPT-2's byte-to-character map: printable bytes map to themselves, the rest to U+0100 onward.</summary>
    public static char[] ByteToChar()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char)b : (char)next++;
        }
        return map;
    }

    public static string Write(List<string> vocab, List<(string, string)> merges, IReadOnlyList<string> specials)
    {
        var vocabObj = new JsonObject();
        for (int i = 0; i < vocab.Count; i++) vocabObj[vocab[i]] = i;
        var added = new JsonArray();
        for (int i = 0; i < specials.Count; i++)
            added.Add(new JsonObject
            {
                ["id"] = i, ["content"] = specials[i], ["single_word"] = false, ["lstrip"] = false,
                ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
            });
        var byteLevel = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true };
        var root = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = null,
            ["pre_tokenizer"] = byteLevel.DeepClone(),
            ["post_processor"] = null,
            ["decoder"] = byteLevel.DeepClone(),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null, ["fuse_unk"] = false, ["byte_fallback"] = false,
                ["vocab"] = vocabObj,
                ["merges"] = new JsonArray(merges.Select(m => (JsonNode)(m.Item1 + " " + m.Item2)).ToArray()),
            },
        };
        return root.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }
}
