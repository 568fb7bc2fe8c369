using System.Globalization;
using System.Text.Json.Nodes;
using ModelBuild.Compression.Diagnostics;
using ModelBuild.Compression.Ingestion;
using ModelBuild.Compression.Spec;
using ModelBuild.Runtime;

namespace ModelBuild.Compression.Pipeline;

/// <summary>
/// gates: { eval_text, max_perplexity_increase }: perplexity of the original and of the compressed pack on the
/// eval text; past the allowed relative increase the build fails (MB1202) with the numbers and the worst layers.
/// The original's perplexity is cached by checkpoint and text content.
/// </summary>
public static class QualityGate
{
    public static JsonObject Check(GatesSpec gates, string specPath, Checkpoint checkpoint, string packPath, JsonArray layers, Action<string>? log)
    {
        string text = File.ReadAllText(SpecFiles.Resolve(gates.EvalText, specPath, gates.Location, "gates.eval_text", "eval_text: path/to/held-out.txt"));

        string cacheFile = Path.Combine(CacheDirectory.Root, "perplexity", CheckpointPacks.Hash(CheckpointPacks.ContentKey(checkpoint) + "|" + CheckpointPacks.Hash(text)) + ".txt");
        double original;
        if (File.Exists(cacheFile) && double.TryParse(File.ReadAllText(cacheFile), NumberStyles.Float, CultureInfo.InvariantCulture, out double cached))
            original = cached;
        else
        {
            log?.Invoke("gate: evaluating the original model");
            using var model = CheckpointPacks.Open(checkpoint, log);
            original = Evaluation.Perplexity(model, model.Tokenize(text)).Perplexity;
            Directory.CreateDirectory(Path.GetDirectoryName(cacheFile)!);
            File.WriteAllText(cacheFile, original.ToString("R", CultureInfo.InvariantCulture));
        }
        double compressed;
        log?.Invoke("gate: evaluating the compressed pack");
        using (var model = CausalLanguageModel.Load(packPath))
            compressed = Evaluation.Perplexity(model, model.Tokenize(text)).Perplexity;
        double increase = compressed / original - 1;
        var result = new JsonObject
        {
            ["eval_text"] = gates.EvalText,
            ["original_perplexity"] = Math.Round(original, 4),
            ["compressed_perplexity"] = Math.Round(compressed, 4),
            ["relative_increase"] = Math.Round(increase, 5),
            ["max_relative_increase"] = gates.MaxPerplexityIncrease,
            ["passed"] = increase <= gates.MaxPerplexityIncrease,
        };
        log?.Invoke($"gate: perplexity {original:F3} -> {compressed:F3} ({increase * 100:+0.00;-0.00}%, allowed +{gates.MaxPerplexityIncrease * 100:0.##}%)");
        if (increase > gates.MaxPerplexityIncrease)
        {
            var worst = layers.Select(l => (Name: l!["tensor"]!.GetValue<string>(),
                    Error: (l["relative_output_error"] ?? l["relative_weight_error"])!.GetValue<double>()))
                .OrderByDescending(l => l.Error).Take(3);
            throw new ModelBuildException(ErrorCodes.QualityGateFailed,
                $"perplexity on {gates.EvalText} rose from {original:F3} to {compressed:F3} (+{increase * 100:F2}%), past the allowed +{gates.MaxPerplexityIncrease * 100:0.##}%. Worst layers: {string.Join(", ", worst.Select(w => $"{w.Name} ({w.Error:F4})"))}.",
                gates.Location.File, gates.Location.Line, gates.Location.Column,
                "use more bits, a smaller group_size, gptq instead of rtn, less sparsity, or ignore the worst layers.");
        }
        return result;
    }
}
