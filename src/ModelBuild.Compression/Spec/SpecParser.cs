using System.Globalization;
using System.IO.Hashing;
using System.Text;
using ModelBuild.Compression.Diagnostics;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ModelBuild.Compression.Spec;

/// <summary>
/// Parses the YAML compression spec. Every problem is a <see cref="ModelBuildException"/> with the file,
/// line and column of the offending node and a hint; unknown keys are errors, never ignored.
/// </summary>
public static class SpecParser
{
    private static readonly string[] TopKeys = { "calibration", "stages", "gates", "allow_quantize_before_sparsify" };
    private static readonly string[] CalibrationKeys = { "text", "samples", "sequence_length", "seed" };
    private static readonly string[] QuantizeKeys = { "method", "bits", "group_size", "symmetric", "act_order", "damp", "targets", "ignore", "outliers" };
    private static readonly string[] SparsifyKeys = { "method", "pattern", "targets", "ignore" };
    private static readonly string[] GatesKeys = { "eval_text", "max_perplexity_increase" };
    public static readonly string[] QuantizeMethods = { "rtn", "gptq" };
    public static readonly string[] SparsifyMethods = { "magnitude", "wanda", "sparsegpt" };
    public static readonly string[] KnownTargets = { "attention", "mlp", "lm_head", "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj" };

    public static CompressionSpec ParseFile(string path)
    {
        if (!File.Exists(path))
            throw new ModelBuildException(ErrorCodes.SpecNotFound, $"compression spec not found: {path}", path, hint: "check the Spec metadata of the <CompressedModel> item.");
        return Parse(File.ReadAllText(path), path);
    }

    public static CompressionSpec Parse(string text, string path)
    {
        var stream = new YamlStream();
        try { stream.Load(new StringReader(text)); }
        catch (YamlException e)
        {
            throw new ModelBuildException(ErrorCodes.SpecSyntax, $"invalid YAML: {e.InnerException?.Message ?? e.Message}", path,
                (int)e.Start.Line, (int)e.Start.Column, "check indentation and that every mapping uses 'key: value'.");
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            // YamlDotNet throws these (not YamlException) on some malformed input; found by fuzzing.
            throw new ModelBuildException(ErrorCodes.SpecSyntax, $"invalid YAML: {e.Message}", path, 1, 1,
                "check the file for stray characters and unbalanced quotes or brackets.");
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
            throw new ModelBuildException(ErrorCodes.SpecSyntax, "the spec must be a YAML mapping with a 'stages' list.", path, 1, 1,
                "start from: stages: [ { quantize: { method: rtn, bits: 4, group_size: 128 } } ]");
        var r = new Reader(path);
        r.CheckKeys(root, TopKeys, "the spec");

        CalibrationSpec? calibration = r.Get(root, "calibration") is { } cal ? r.Calibration(cal) : null;
        var stagesNode = r.Get(root, "stages") ?? throw r.Error(ErrorCodes.SpecInvalidValue, root, "the spec has no 'stages' list.", "add stages: [ { quantize: { method: rtn, bits: 4, group_size: 128 } } ]");
        if (stagesNode is not YamlSequenceNode seq)
            throw r.Error(ErrorCodes.SpecInvalidValue, stagesNode, "'stages' must be a list.", "write each stage as '- quantize: {...}' or '- sparsify: {...}'.");
        var stages = seq.Children.Select(r.Stage).ToList();
        GatesSpec? gates = r.Get(root, "gates") is { } g ? r.Gates(g) : null;
        bool allowReverse = r.Get(root, "allow_quantize_before_sparsify") is { } a && r.Bool(a);

        int firstQuantize = stages.FindIndex(s => s is QuantizeSpec);
        int lastSparsify = stages.FindLastIndex(s => s is SparsifySpec);
        if (firstQuantize >= 0 && lastSparsify > firstQuantize && !allowReverse)
        {
            var s = stages[lastSparsify];
            throw new ModelBuildException(ErrorCodes.SpecInvalidValue, "sparsify comes after quantize; pruning first and quantizing only the kept weights is the better order (Harma et al.).",
                path, s.Location.Line, s.Location.Column, "move the sparsify stage before quantize, or set allow_quantize_before_sparsify: true to compare.");
        }
        return new CompressionSpec(path, text, calibration, stages, gates, allowReverse);
    }

    public static string Hash(string specText) => Convert.ToHexString(XxHash3.Hash(Encoding.UTF8.GetBytes(specText))).ToLowerInvariant();

    private sealed class Reader(string path)
    {
        public ModelBuildException Error(string code, YamlNode node, string message, string? hint = null) =>
            new(code, message, path, (int)node.Start.Line, (int)node.Start.Column, hint);

        public SpecLocation Location(YamlNode node) => new(path, (int)node.Start.Line, (int)node.Start.Column);

        public YamlNode? Get(YamlMappingNode map, string key) =>
            map.Children.FirstOrDefault(kv => kv.Key is YamlScalarNode s && s.Value == key).Value;

        public void CheckKeys(YamlMappingNode map, string[] allowed, string where)
        {
            foreach (var key in map.Children.Keys)
            {
                string name = (key as YamlScalarNode)?.Value ?? "";
                if (allowed.Contains(name)) continue;
                string? close = allowed.OrderBy(a => Distance(a, name)).FirstOrDefault(a => Distance(a, name) <= 3);
                throw Error(ErrorCodes.SpecUnknownKey, key, $"unknown key '{name}' in {where}.",
                    close is not null ? $"did you mean '{close}'? Allowed: {string.Join(", ", allowed)}." : $"allowed keys: {string.Join(", ", allowed)}.");
            }
        }

        public YamlMappingNode Mapping(YamlNode node, string what) =>
            node as YamlMappingNode ?? throw Error(ErrorCodes.SpecInvalidValue, node, $"{what} must be a mapping of key: value pairs.");

        public string Scalar(YamlNode node, string what) =>
            (node as YamlScalarNode)?.Value ?? throw Error(ErrorCodes.SpecInvalidValue, node, $"{what} must be a single value.");

        public int Int(YamlNode node, string what, int min, int max)
        {
            string s = Scalar(node, what);
            if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < min || v > max)
                throw Error(ErrorCodes.SpecInvalidValue, node, $"{what} must be an integer from {min} to {max} (got '{s}').");
            return v;
        }

        public double Double(YamlNode node, string what, double min, double max)
        {
            string s = Scalar(node, what);
            if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !(v >= min && v <= max))
                throw Error(ErrorCodes.SpecInvalidValue, node, $"{what} must be a number from {min} to {max} (got '{s}').");
            return v;
        }

        public bool Bool(YamlNode node)
        {
            string s = Scalar(node, "flag");
            return s switch
            {
                "true" or "True" or "yes" => true,
                "false" or "False" or "no" => false,
                _ => throw Error(ErrorCodes.SpecInvalidValue, node, $"expected true or false (got '{s}')."),
            };
        }

        public string Choice(YamlNode node, string what, string[] allowed)
        {
            string s = Scalar(node, what);
            return allowed.Contains(s) ? s : throw Error(ErrorCodes.SpecInvalidValue, node, $"{what} '{s}' is not one of: {string.Join(", ", allowed)}.");
        }

        public List<string> Names(YamlNode? node, string what, IReadOnlyList<string> fallback)
        {
            if (node is null) return fallback.ToList();
            var items = node is YamlSequenceNode seq ? seq.Children : new List<YamlNode> { node };
            var result = new List<string>();
            foreach (var item in items)
                result.Add(Choice(item, what, KnownTargets));
            return result;
        }

        public CalibrationSpec Calibration(YamlNode node)
        {
            var map = Mapping(node, "calibration");
            CheckKeys(map, CalibrationKeys, "calibration");
            return new CalibrationSpec(
                Get(map, "text") is { } t ? Scalar(t, "calibration.text") : null,
                Get(map, "samples") is { } s ? Int(s, "calibration.samples", 1, 100_000) : 128,
                Get(map, "sequence_length") is { } l ? Int(l, "calibration.sequence_length", 2, 1 << 20) : 256,
                Get(map, "seed") is { } sd ? Int(sd, "calibration.seed", 0, int.MaxValue) : 0,
                Location(node));
        }

        public GatesSpec Gates(YamlNode node)
        {
            var map = Mapping(node, "gates");
            CheckKeys(map, GatesKeys, "gates");
            return new GatesSpec(
                Get(map, "eval_text") is { } t ? Scalar(t, "gates.eval_text") : null,
                Get(map, "max_perplexity_increase") is { } m ? Double(m, "gates.max_perplexity_increase", 0, 1000) : double.PositiveInfinity,
                Location(node));
        }

        public StageSpec Stage(YamlNode node)
        {
            var map = Mapping(node, "a stage");
            if (map.Children.Count != 1)
                throw Error(ErrorCodes.SpecInvalidValue, node, "each stage must have exactly one key: quantize or sparsify.", "write '- quantize: {...}' as its own list item.");
            var (key, body) = map.Children.First();
            string kind = Scalar(key, "stage kind");
            var args = Mapping(body, kind);
            switch (kind)
            {
                case "quantize":
                {
                    CheckKeys(args, QuantizeKeys, "quantize");
                    var methodNode = Get(args, "method") ?? throw Error(ErrorCodes.SpecInvalidValue, body, "quantize needs a method.", "method: rtn or method: gptq.");
                    string method = Choice(methodNode, "quantize.method", QuantizeMethods);
                    var bitsNode = Get(args, "bits");
                    int bits = bitsNode is null ? 4 : Int(bitsNode, "quantize.bits", 2, 8);
                    if (bits is not (2 or 3 or 4 or 8))
                        throw Error(ErrorCodes.SpecInvalidValue, bitsNode!, $"quantize.bits must be 2, 3, 4 or 8 (got {bits}).");
                    int group = Get(args, "group_size") is { } gs ? Int(gs, "quantize.group_size", -1, 1 << 20) : 128;
                    if (group == 0 || group < -1)
                        throw Error(ErrorCodes.SpecInvalidValue, Get(args, "group_size")!, "quantize.group_size must be positive, or -1 for one group per row.");
                    return new QuantizeSpec(method, bits, group,
                        Get(args, "symmetric") is { } sym && Bool(sym),
                        Get(args, "act_order") is { } ao && Bool(ao),
                        Get(args, "damp") is { } d ? Double(d, "quantize.damp", 0, 1) : 0.01,
                        Names(Get(args, "targets"), "quantize.targets", CompressionSpec.DefaultTargets),
                        Names(Get(args, "ignore"), "quantize.ignore", Array.Empty<string>()),
                        Location(key),
                        Get(args, "outliers") is { } ol ? Double(ol, "quantize.outliers", 0, 0.1) : 0);
                }
                case "sparsify":
                {
                    CheckKeys(args, SparsifyKeys, "sparsify");
                    var methodNode = Get(args, "method") ?? throw Error(ErrorCodes.SpecInvalidValue, body, "sparsify needs a method.", "method: sparsegpt, wanda or magnitude.");
                    var patternNode = Get(args, "pattern");
                    string pattern = patternNode is null ? "50%" : Scalar(patternNode, "sparsify.pattern");
                    if (Sparsity.SparsityPattern.TryParse(pattern) is null)
                        throw Error(ErrorCodes.SpecInvalidValue, patternNode!, $"sparsify.pattern '{pattern}' is not a sparsity pattern.", "write a fraction such as \"50%\" or an N:M pattern such as \"2:4\".");
                    return new SparsifySpec(Choice(methodNode, "sparsify.method", SparsifyMethods),
                        pattern,
                        Names(Get(args, "targets"), "sparsify.targets", CompressionSpec.DefaultTargets),
                        Names(Get(args, "ignore"), "sparsify.ignore", Array.Empty<string>()),
                        Location(key));
                }
                default:
                    throw Error(ErrorCodes.SpecUnknownKey, key, $"unknown stage '{kind}'.", "stages are 'quantize' or 'sparsify'.");
            }
        }

        private static int Distance(string a, string b)
        {
            var d = new int[a.Length + 1, b.Length + 1];
            for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
            for (int j = 0; j <= b.Length; j++) d[0, j] = j;
            for (int i = 1; i <= a.Length; i++)
                for (int j = 1; j <= b.Length; j++)
                    d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            return d[a.Length, b.Length];
        }
    }
}
