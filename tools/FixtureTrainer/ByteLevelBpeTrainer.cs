using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ModelBuild.Compression.Synthesis;

namespace ModelBuild.Tools.FixtureTrainer;

/// <summary>
/// Learns a GPT-2-style byte-level BPE vocabulary: text is split by the GPT-2 pattern, each piece becomes
/// UTF-8 bytes mapped to printable characters, and the most frequent adjacent pair is merged until the
/// vocabulary is full. ByteLevelTokenizerJson writes the result as a Hugging Face tokenizer.json.
/// </summary>
public static class ByteLevelBpeTrainer
{
    private static readonly Regex Pieces = new(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+", RegexOptions.Compiled);

    public static (List<string> Vocab, List<(string, string)> Merges) Train(string text, int vocabSize, IReadOnlyList<string> specials)
    {
        var byteToChar = ByteLevelTokenizerJson.ByteToChar();
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
}
