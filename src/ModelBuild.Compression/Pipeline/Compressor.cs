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
            if (stage is not QuantizeSpec)
                throw new ModelBuildException(ErrorCodes.SpecNotSupported, $"sparsify method '{stage.Method}' is not available in this version of ModelBuild.",
                    stage.Location.File, stage.Location.Line, stage.Location.Column, "remove the sparsify stage, or quantize only (rtn or gptq).");
        if (stages.OfType<QuantizeSpec>().Count() > 1)
        {
            var second = stages.OfType<QuantizeSpec>().Skip(1).First();
            throw new ModelBuildException(ErrorCodes.SpecNotSupported, "only one quantize stage is supported.", second.Location.File, second.Location.Line, second.Location.Column, "merge the quantize stages into one.");
        }
        var quantize = stages.OfType<QuantizeSpec>().SingleOrDefault();

        Dictionary<string, GptqPipeline.LayerResult>? gptq = null;
        if (quantize is { Method: "gptq" })
        {
            var calibration = spec!.Calibration ?? throw new ModelBuildException(ErrorCodes.SpecInvalidValue, "gptq needs calibration data.",
                quantize.Location.File, quantize.Location.Line, quantize.Location.Column, "add calibration: { text: calib.txt, samples: 128, sequence_length: 256 } to the spec.");
            CheckGroupSizes(checkpoint, quantize);
            var tokenizer = Runtime.Tokenization.ModelTokenizer.FromJson(checkpoint.TokenizerJson, checkpoint.Config.BosTokenId, checkpoint.Config.EosTokenId);
            var ids = Calibration.CalibrationSet.Sample(calibration, spec.SourcePath, tokenizer, checkpoint.Config.MaxPositionEmbeddings);
            log?.Invoke($"calibration: {calibration.Samples} x {calibration.SequenceLength} tokens (seed {calibration.Seed})");
            gptq = new GptqPipeline(log).Run(checkpoint, quantize, ids, calibration.SequenceLength);
        }

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
                var layerReport = new JsonObject { ["tensor"] = name };
                QuantizedMatrix qm;
                if (gptq is not null)
                {
                    var result = gptq[name];
                    qm = result.Matrix;
                    layerReport["relative_output_error"] = Math.Round(result.RelativeOutputError, 6);
                    if (result.DampUsed != quantize.Damp) layerReport["damp_raised_to"] = result.DampUsed;
                }
                else
                {
                    CheckGroupSizes(checkpoint, quantize);
                    qm = RtnQuantizer.Quantize(data, rows, cols, quantize.Bits, quantize.GroupSize == -1 ? cols : quantize.GroupSize, quantize.Symmetric);
                }
                layerReport["relative_weight_error"] = RelativeError(data, qm.Dequantize());
                layerErrors.Add(layerReport);
                writer.AddTensor(new TensorEntry
                {
                    Name = name, Format = TensorLayout.GroupQuantized, Shape = shape, Bits = qm.Bits, GroupSize = qm.GroupSize, Symmetric = qm.Symmetric,
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

    /// <summary>Every targeted layer's input width must be a multiple of group_size; says which layer is not.</summary>
    private static void CheckGroupSizes(Checkpoint checkpoint, QuantizeSpec q)
    {
        if (q.GroupSize == -1) return;
        foreach (var (name, shape) in TorchLlama.WeightShapes(checkpoint.Config))
            if (shape.Length == 2 && LayerSelector.Matches(name, q.Targets, q.Ignore) && shape[1] % q.GroupSize != 0)
                throw new ModelBuildException(ErrorCodes.SpecInvalidValue, $"group_size {q.GroupSize} does not divide the {shape[1]} input columns of '{name}'.",
                    q.Location.File, q.Location.Line, q.Location.Column, $"choose a group_size that divides {shape[1]}, or -1 for one group per row.");
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
