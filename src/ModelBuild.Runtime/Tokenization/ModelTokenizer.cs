using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace ModelBuild.Runtime.Tokenization;

/// <summary>
/// The model's tokenizer, built from a Hugging Face tokenizer.json through Microsoft.ML.Tokenizers.
/// Supported: byte-level BPE (GPT-2, Llama 3, Qwen2 style).
/// </summary>
public sealed class ModelTokenizer
{
    // GPT-2's pre-tokenization pattern (used by HF's ByteLevel pre-tokenizer with use_regex=true).
    private const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private readonly Tokenizer _tokenizer;
    private readonly Dictionary<int, string> _specialById;

    public int BosId { get; }
    public int EosId { get; }
    public int VocabularySize { get; }

    private ModelTokenizer(Tokenizer tokenizer, Dictionary<string, int> specials, int bos, int eos, int vocabSize)
    {
        _tokenizer = tokenizer;
        _specialById = specials.ToDictionary(kv => kv.Value, kv => kv.Key);
        BosId = bos;
        EosId = eos;
        VocabularySize = vocabSize;
    }

    /// <summary>A byte-level BPE tokenizer from tokenizer.json.</summary>
    /// <exception cref="FormatException">The file is malformed.</exception>
    /// <exception cref="NotSupportedException">The tokenizer is of a kind not supported.</exception>
    public static ModelTokenizer FromJson(string tokenizerJson, int bosId, int eosId)
    {
        using var doc = ParseJson(tokenizerJson);
        // System.Text.Json reports values of the wrong kind as InvalidOperationException, missing properties as
        // KeyNotFoundException and short arrays as IndexOutOfRangeException; the tokenizer library reports bad
        // vocabularies and merges as InvalidOperationException or ArgumentException. All found by fuzzing; all malformed input.
        try { return FromRoot(doc.RootElement, bosId, eosId); }
        catch (Exception e) when (e is InvalidOperationException or KeyNotFoundException or ArgumentException or IndexOutOfRangeException)
        {
            throw new FormatException($"tokenizer.json: {e.Message}", e);
        }
    }

    private static ModelTokenizer FromRoot(JsonElement root, int bosId, int eosId)
    {
        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            throw new FormatException("tokenizer.json: 'model' is missing.");
        string type = model.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
        if (type != "BPE")
            throw new NotSupportedException($"tokenizer.json: model type '{type}' is not supported yet (supported: byte-level BPE).");
        if (model.TryGetProperty("byte_fallback", out var bf) && bf.ValueKind == JsonValueKind.True)
            throw new NotSupportedException("tokenizer.json: SentencePiece-style BPE with byte_fallback is not supported yet; byte-level BPE is.");

        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var p in model.GetProperty("vocab").EnumerateObject()) vocab[p.Name] = p.Value.GetInt32();
        var merges = new List<string>();
        if (model.TryGetProperty("merges", out var m))
            foreach (var merge in m.EnumerateArray())
                merges.Add(merge.ValueKind == JsonValueKind.Array
                    ? merge[0].GetString() + " " + merge[1].GetString()
                    : merge.GetString() ?? "");

        var specials = new Dictionary<string, int>(StringComparer.Ordinal);
        if (root.TryGetProperty("added_tokens", out var added))
            foreach (var a in added.EnumerateArray())
                specials[a.GetProperty("content").GetString()!] = a.GetProperty("id").GetInt32();
        foreach (var kv in specials) vocab[kv.Key] = kv.Value;

        var options = new BpeOptions(vocab)
        {
            Merges = merges,
            ByteLevel = true,
            SpecialTokens = specials,
            PreTokenizer = new RegexPreTokenizer(new Regex(Gpt2Pattern, RegexOptions.Compiled), specials),
        };
        if (vocab.Count == 0) throw new FormatException("tokenizer.json: the vocabulary is empty.");
        return new ModelTokenizer(BpeTokenizer.Create(options), specials, bosId, eosId, vocab.Values.Max() + 1);
    }

    private static JsonDocument ParseJson(string json)
    {
        try { return JsonDocument.Parse(json); }
        catch (JsonException e) { throw new FormatException($"tokenizer.json: invalid JSON at line {e.LineNumber + 1}: {e.Message}", e); }
    }

    /// <summary>Token ids of the text, without BOS/EOS.</summary>
    public int[] Encode(string text) => _tokenizer.EncodeToIds(text).ToArray();

    public string Decode(IEnumerable<int> ids) =>
        _tokenizer.Decode(ids.Where(id => !_specialById.ContainsKey(id))) ?? "";

    public bool IsSpecial(int id) => _specialById.ContainsKey(id);
}
