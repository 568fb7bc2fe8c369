using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelBuild.Compression.IO;

namespace ModelBuild.Compression.Reporting;

/// <summary>
/// Writes the compression report three ways next to each other: JSON (for tools), Markdown (for people) and an
/// SVG bar chart of per-layer relative error. All writes are atomic.
/// </summary>
public static class CompressionReport
{
    public static void Write(JsonObject report, string jsonPath)
    {
        string stem = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(jsonPath))!, Path.GetFileNameWithoutExtension(jsonPath));
        AtomicFile.WriteAllText(jsonPath, report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        AtomicFile.WriteAllText(stem + ".svg", Svg(report));
        AtomicFile.WriteAllText(stem + ".md", Markdown(report, Path.GetFileName(stem + ".svg")));
    }

    private static IEnumerable<(string Tensor, double Error, string Kind)> Layers(JsonObject report) =>
        (report["layers"] as JsonArray ?? new JsonArray()).Select(l => (
            l!["tensor"]!.GetValue<string>(),
            (l["relative_output_error"] ?? l["relative_weight_error"])!.GetValue<double>(),
            l["relative_output_error"] is null ? "weight" : "output"));

    public static string Markdown(JsonObject report, string svgName)
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine("# Compression report").AppendLine();
        sb.AppendLine("Stages: " + string.Join(" → ", (report["stages"] as JsonArray ?? new JsonArray()).Select(s => s!.GetValue<string>())));
        if (report["compress_seconds"] is { } secs) sb.AppendLine(string.Create(inv, $"Compression time: {secs.GetValue<double>():F1} s"));
        if (report["gate"] is JsonObject g)
            sb.AppendLine().AppendLine(string.Create(inv,
                $"Gate on {g["eval_text"]}: perplexity {g["original_perplexity"]!.GetValue<double>():F3} → {g["compressed_perplexity"]!.GetValue<double>():F3} ({g["relative_increase"]!.GetValue<double>() * 100:+0.00;-0.00}%, allowed +{g["max_relative_increase"]!.GetValue<double>() * 100:0.##}%): {(g["passed"]!.GetValue<bool>() ? "passed" : "failed")}"));
        sb.AppendLine().AppendLine($"![per-layer relative error]({svgName})").AppendLine();
        sb.AppendLine("| layer | relative error | of |").AppendLine("|---|---|---|");
        foreach (var (tensor, error, kind) in Layers(report))
            sb.AppendLine(string.Create(inv, $"| {tensor} | {error:F5} | {kind} |"));
        return sb.ToString();
    }

    public static string Svg(JsonObject report)
    {
        var layers = Layers(report).ToList();
        var inv = CultureInfo.InvariantCulture;
        const int barWidth = 14, height = 260, top = 30, left = 60, plotHeight = 180;
        int width = left + Math.Max(1, layers.Count) * barWidth + 20;
        double max = Math.Max(1e-9, layers.Select(l => l.Error).DefaultIfEmpty(0).Max());
        var sb = new StringBuilder();
        sb.AppendLine(string.Create(inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\">"));
        sb.AppendLine(string.Create(inv, $"<text x=\"{left}\" y=\"18\">Relative {(layers.Any(l => l.Kind == "output") ? "output" : "weight")} error per layer (max {max:F4})</text>"));
        sb.AppendLine(string.Create(inv, $"<line x1=\"{left}\" y1=\"{top + plotHeight}\" x2=\"{width - 10}\" y2=\"{top + plotHeight}\" stroke=\"black\"/>"));
        for (int t = 0; t <= 4; t++)
        {
            double v = max * t / 4;
            double y = top + plotHeight - plotHeight * t / 4.0;
            sb.AppendLine(string.Create(inv, $"<text x=\"{left - 5}\" y=\"{y + 4:F1}\" text-anchor=\"end\">{v:F3}</text><line x1=\"{left}\" y1=\"{y:F1}\" x2=\"{width - 10}\" y2=\"{y:F1}\" stroke=\"#ddd\"/>"));
        }
        string[] kinds = { "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head" };
        string[] palette = { "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#9c755f" };
        for (int i = 0; i < layers.Count; i++)
        {
            var (tensor, error, _) = layers[i];
            double h = plotHeight * error / max;
            string color = palette[Math.Max(0, Array.FindIndex(kinds, k => tensor.Contains(k, StringComparison.Ordinal)))];
            sb.AppendLine(string.Create(inv, $"<rect x=\"{left + i * barWidth + 1}\" y=\"{top + plotHeight - h:F1}\" width=\"{barWidth - 2}\" height=\"{h:F1}\" fill=\"{color}\"><title>{tensor}: {error:F5}</title></rect>"));
        }
        sb.AppendLine(string.Create(inv, $"<text x=\"{left}\" y=\"{top + plotHeight + 20}\">layers in order (hover for names)</text>"));
        sb.AppendLine("</svg>");
        return sb.ToString();
    }
}
