using System.Diagnostics;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using ModelBuild.Compression.Diagnostics;
using ModelBuild.Compression.Ingestion;
using ModelBuild.Compression.Quantization;
using ModelBuild.Compression.Spec;
using ModelBuild.Compression.Torch;
using ModelBuild.Format.Pack;

namespace ModelBuild.Compression.Pipeline;

/// <summary>
/// Checkpoint + spec -> pack. Streams tensor by tensor: read, compress per the spec's stages, append to the
/// pack. The pack appears only when complete (temp file + rename).
/// </summary>
public sealed class Compressor(Action<string>? log = null)
{
    public static string ToolVersion => typeof(Compressor).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    public sealed record Result(string PackPath, long PackBytes, JsonObject Report);

    /// <summary>Compresses; a null spec stores every weight as f16 (the "original" model as a pack).</summary>
    public Result Compress(Checkpoint checkpoint, CompressionSpec? spec, string outputPath)
    {
        var stages = spec?.Stages ?? Array.Empty<StageSpec>();
        foreach (var stage in stages)
            if (stage is not QuantizeSpec { Method: "rtn" } q || q.Bits is not (4 or 8))
                throw new ModelBuildException(ErrorCodes.SpecNotSupported,
                    stage switch
                    {
                        QuantizeSpec qs when qs.Method == "rtn" => $"rtn with {qs.Bits} bits cannot be stored yet; this version packs 4 and 8 bits.",
                        _ => $"{(stage is QuantizeSpec ? "quantize" : "sparsify")} method '{stage.Method}' is not available in this version of ModelBuild.",
                    },
                    stage.Location.File, stage.Location.Line, stage.Location.Column, "use quantize: { method: rtn, bits: 4 or 8, group_size: N }.");
        var quantize = stages.OfType<QuantizeSpec>().LastOrDefault();

        var sw = Stopwatch.StartNew();
        var c = checkpoint.Config;
        var shapes = TorchLlama.WeightShapes(c).ToList();
        if (c.TieWordEmbeddings && checkpoint.HasTensor("lm_head.weight"))
            shapes.Add(("lm_head.weight", new long[] { c.VocabSize, c.HiddenSize }));
        var layerErrors = new JsonArray();
        using var writer = new PackWriter(outputPath);
        for (int i = 0; i < shapes.Count; i++)
        {
            var (name, shape) = shapes[i];
            float[] data = checkpoint.ReadTensor(name, shape);
            if (quantize is not null && shape.Length == 2 && LayerSelector.Matches(name, quantize.Targets, quantize.Ignore))
            {
                int rows = (int)shape[0], cols = (int)shape[1];
                int group = quantize.GroupSize == -1 ? cols : quantize.GroupSize;
                if (cols % group != 0)
                    throw new ModelBuildException(ErrorCodes.SpecInvalidValue, $"group_size {group} does not divide the {cols} input columns of '{name}'.",
                        quantize.Location.File, quantize.Location.Line, quantize.Location.Column, $"choose a group_size that divides {cols}, or -1 for per-row.");
                var qm = RtnQuantizer.Quantize(data, rows, cols, quantize.Bits, group, quantize.Symmetric);
                layerErrors.Add(new JsonObject { ["tensor"] = name, ["relative_weight_error"] = RelativeError(data, qm.Dequantize()) });
                writer.AddTensor(new TensorEntry
                {
                    Name = name, Format = TensorLayout.GroupQuantized, Shape = shape, Bits = qm.Bits, GroupSize = group, Symmetric = qm.Symmetric,
                    Parts = new()
                    {
                        ["qweight"] = writer.AddBlob(qm.PackCodes()),
                        ["scales"] = writer.AddBlob(MemoryMarshal.AsBytes(qm.Scales.AsSpan())),
                        ["zeros"] = writer.AddBlob(qm.Zeros),
                    },
                });
            }
            else if (shape.Length == 1)
                writer.AddTensor(new TensorEntry { Name = name, Format = TensorLayout.F32, Shape = shape, Parts = new() { ["data"] = writer.AddBlob(MemoryMarshal.AsBytes(data.AsSpan())) } });
            else
            {
                var half = new Half[data.Length];
                for (int k = 0; k < data.Length; k++) half[k] = (Half)data[k];
                writer.AddTensor(new TensorEntry { Name = name, Format = TensorLayout.F16, Shape = shape, Parts = new() { ["data"] = writer.AddBlob(MemoryMarshal.AsBytes(half.AsSpan())) } });
            }
            bool endOfBlock = i + 1 == shapes.Count || BlockOf(shapes[i + 1].Name) != BlockOf(name);
            if (endOfBlock && BlockOf(name) is int block)
            {
                double perBlock = sw.Elapsed.TotalSeconds / (block + 1);
                log?.Invoke($"block {block + 1}/{c.NumHiddenLayers} done ({sw.Elapsed.TotalSeconds:F1}s, ETA {perBlock * (c.NumHiddenLayers - block - 1):F0}s)");
            }
        }

        var report = new JsonObject
        {
            ["stages"] = new JsonArray(stages.Select(s => (JsonNode)JsonValue.Create(Describe(s))).ToArray()),
            ["layers"] = layerErrors,
            ["compress_seconds"] = Math.Round(sw.Elapsed.TotalSeconds, 2),
        };
        var manifest = new PackManifest
        {
            ToolVersion = ToolVersion,
            ConfigJson = checkpoint.ConfigJson,
            TokenizerJson = checkpoint.TokenizerJson,
            TokenizerConfigJson = checkpoint.TokenizerConfigJson,
            SpecText = spec?.Text,
            SpecHash = spec is null ? null : SpecParser.Hash(spec.Text),
            InputHashes = checkpoint.InputFiles.ToDictionary(p => Path.GetFileName(p), HashFile),
            Tensors = new(),
            // Wall time is left out of the pack itself so the same inputs give the same bytes.
            Report = new JsonObject { ["stages"] = report["stages"]!.DeepClone(), ["layers"] = layerErrors.DeepClone() },
        };
        writer.Commit(manifest);
        return new Result(outputPath, new FileInfo(outputPath).Length, report);
    }

    private static int? BlockOf(string tensorName) =>
        tensorName.StartsWith("model.layers.", StringComparison.Ordinal) && int.TryParse(tensorName.Split('.')[2], out int b) ? b : null;

    public static string Describe(StageSpec s) => s switch
    {
        QuantizeSpec q => $"quantize {q.Method} int{q.Bits} g{q.GroupSize}{(q.Symmetric ? " sym" : " asym")}",
        SparsifySpec p => $"sparsify {p.Method} {p.Pattern}",
        _ => s.Method,
    };

    private static double RelativeError(float[] a, float[] b)
    {
        double num = 0, den = 0;
        for (int i = 0; i < a.Length; i++) { double d = a[i] - b[i]; num += d * d; den += (double)a[i] * a[i]; }
        return den == 0 ? 0 : Math.Round(Math.Sqrt(num / den), 6);
    }

    public static string HashFile(string path)
    {
        var h = new XxHash3();
        using var fs = File.OpenRead(path);
        h.Append(fs);
        return Convert.ToHexString(h.GetCurrentHash()).ToLowerInvariant();
    }
}
