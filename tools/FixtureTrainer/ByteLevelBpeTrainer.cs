using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace ModelBuild.Tools.FixtureTrainer;

/// <summary>
/// Learns a GPT-2-style byte-level BPE vocabulary: text is split by the GPT-2 pattern, each piece becomes
/// UTF-8 bytes mapped to printable characters, and the most frequent adjacent pair is merged until the
/// vocabulary is full. Writes a Hugging Face tokenizer.json.
/// </summary>
public static class ByteLevelBpeTrainer
{
    private static readonly Regex Pieces = new(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+", RegexOptions.Compiled);

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

    public static (List<string> Vocab, List<(string, string)> Merges) Train(string text, int vocabSize, IReadOnlyList<string> specials)
    {
        var byteToChar = ByteToChar();
        var wordCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (Match m in Pieces.Matches(text))
        {
            var mapped = new string(Encoding.UTF8.GetBytes(m.Value).Select(b => byteToChar[b]).ToArray());
            wordCounts[mapped] = wordCounts.GetValueOrDefault(mapped) + 1;
        }
        var words = wordCounts.Select(kv => (Symbols: kv.Key.Select(c => c.ToString()).ToList(), Count: kv.Value)).ToList();
        var vocab = new List<string>(specials);
        vocab.AddRange(byteToChar.Select(c => c.ToString()));
        var merges = new List<(string, string)>();
        while (vocab.Count < vocabSize)
        {
            var pairCounts = new Dictionary<(string, string), long>();
            foreach (var (symbols, count) in words)
                for (int i = 0; i + 1 < symbols.Count; i++)
                {
                    var key = (symbols[i], symbols[i + 1]);
                    pairCounts[key] = pairCounts.GetValueOrDefault(key) + count;
                }
            if (pairCounts.Count == 0) break;
            // Highest count; ties broken by ordinal order so training is deterministic.
            var best = pairCounts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key.Item1, StringComparer.Ordinal)
                .ThenBy(kv => kv.Key.Item2, StringComparer.Ordinal).First().Key;
            if (pairCounts[best] < 2) break;
            merges.Add(best);
            string merged = best.Item1 + best.Item2;
            vocab.Add(merged);
            foreach (var (symbols, _) in words)
                for (int i = 0; i + 1 < symbols.Count; i++)
                    if (symbols[i] == best.Item1 && symbols[i + 1] == best.Item2)
                    {
                        symbols[i] = merged;
                        symbols.RemoveAt(i + 1);
                    }
        }
        return (vocab, merges);
    }

    public static string ToTokenizerJson(List<string> vocab, List<(string, string)> merges, IReadOnlyList<string> specials)
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
