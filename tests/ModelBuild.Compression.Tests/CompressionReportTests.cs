using System.Text.Json.Nodes;
using System.Xml.Linq;
using ModelBuild.Compression.Reporting;
using ModelBuild.Tests;

namespace ModelBuild.Compression.Tests;

public class CompressionReportTests
{
    private static JsonObject Sample() => new()
    {
        ["stages"] = new JsonArray("quantize gptq int4 g128 asym"),
        ["compress_seconds"] = 1.5,
        ["layers"] = new JsonArray(
            new JsonObject { ["tensor"] = "model.layers.0.self_attn.q_proj.weight", ["relative_weight_error"] = 0.1, ["relative_output_error"] = 0.02 },
            new JsonObject { ["tensor"] = "model.layers.0.mlp.down_proj.weight", ["relative_weight_error"] = 0.2, ["relative_output_error"] = 0.08 }),
        ["gate"] = new JsonObject { ["eval_text"] = "eval.txt", ["original_perplexity"] = 10.0, ["compressed_perplexity"] = 10.5, ["relative_increase"] = 0.05, ["max_relative_increase"] = 0.1, ["passed"] = true },
    };

    [Fact]
    public void Writes_json_markdown_and_a_valid_svg_with_one_bar_per_layer()
    {
        using var dir = new RepoPaths.TempDir();
        CompressionReport.Write(Sample(), dir.File("r.json"));
        Assert.Equal(2, JsonNode.Parse(File.ReadAllText(dir.File("r.json")))!["layers"]!.AsArray().Count);
        var svg = XDocument.Parse(File.ReadAllText(dir.File("r.svg")));
        var bars = svg.Descendants(XName.Get("rect", "http://www.w3.org/2000/svg")).ToList();
        Assert.Equal(2, bars.Count);
        Assert.True(double.Parse(bars[1].Attribute("height")!.Value, System.Globalization.CultureInfo.InvariantCulture)
                    > double.Parse(bars[0].Attribute("height")!.Value, System.Globalization.CultureInfo.InvariantCulture), "bars scale with error");
        string md = File.ReadAllText(dir.File("r.md"));
        Assert.Contains("| model.layers.0.mlp.down_proj.weight | 0.08000 | output |", md);
        Assert.Contains("10.000 → 10.500 (+5.00%, allowed +10%): passed", md);
        Assert.Contains("![per-layer relative error](r.svg)", md);
    }

    [Fact]
    public void The_svg_is_the_same_every_time()
    {
        Assert.Equal(CompressionReport.Svg(Sample()), CompressionReport.Svg(Sample()));
    }
}
