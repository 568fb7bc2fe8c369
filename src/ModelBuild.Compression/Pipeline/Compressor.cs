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

    /// <summary>
    /// The version plus the compression assembly's module id (deterministic builds change it exactly when the
    /// code changes), so caches never hand out packs made by different code under the same version number.
    /// </summary>
    public static string ToolIdentity => ToolVersion + "+" + typeof(Compressor).Assembly.ManifestModule.ModuleVersionId.ToString("N");

    public sealed record Result(string PackPath, long PackBytes, JsonObject Report);

    /// <summary>Compresses; a null spec stores every weight in 16 bits (the "original" model as a pack; see <see cref="HalfWidthStorage"/>).</summary>
    public Result Compress(Checkpoint checkpoint, CompressionSpec? spec, string outputPath)
    {
        var sw = Stopwatch.StartNew();
        var stages = spec?.Stages ?? Array.Empty<StageSpec>();
        foreach (var kind in new[] { typeof(QuantizeSpec), typeof(SparsifySpec) })
            if (stages.Count(s => s.GetType() == kind) > 1)
            {
                var second = stages.Where(s => s.GetType() == kind).Skip(1).First();
                throw new ModelBuildException(ErrorCodes.SpecNotSupported, $"only one {(kind == typeof(QuantizeSpec) ? "quantize" : "sparsify")} stage is supported.",
                    second.Location.File, second.Location.Line, second.Location.Column, "merge them into one stage.");
            }
        CheckShapes(checkpoint, stages);
        if (stages.Count > 0) TorchSharpLoader.EnsureLoaded();

        Dictionary<string, LayerResult>? precomputed = null;
        if (stages.FirstOrDefault(LayerCompressor.NeedsCalibration) is { } needy)
        {
            var calibration = spec!.Calibration ?? throw new ModelBuildException(ErrorCodes.SpecInvalidValue, $"{needy.Method} needs calibration data.",
                needy.Location.File, needy.Location.Line, needy.Location.Column, "add calibration: { text: calib.txt, samples: 128, sequence_length: 256 } to the spec.");
            var tokenizer = Runtime.Tokenization.ModelTokenizer.FromJson(checkpoint.TokenizerJson, checkpoint.Config.BosTokenId, checkpoint.Config.EosTokenId);
            var ids = Calibration.CalibrationSet.Sample(calibration, spec.SourcePath, tokenizer, checkpoint.Config.MaxPositionEmbeddings);
            log?.Invoke($"calibration: {calibration.Samples} x {calibration.SequenceLength} tokens (seed {calibration.Seed})");
            precomputed = new BlockwisePipeline(log).Run(checkpoint, stages, ids, calibration.SequenceLength);
        }

        var c = checkpoint.Config;
        var shapes = TorchLlama.WeightShapes(c).ToList();
        if (c.TieWordEmbeddings && checkpoint.HasTensor("lm_head.weight"))
            shapes.Add(("lm_head.weight", new long[] { c.VocabSize, c.HiddenSize }));
        var layerErrors = new JsonArray();
        // With a gate, the pack is written beside the target and moved into place only once it passes.
        string packPath = spec?.Gates is null ? outputPath : outputPath + ".ungated";
        using var writer = new PackWriter(packPath);
        long parameters = 0, zeroWeights = 0, linearWeights = 0;
        for (int i = 0; i < shapes.Count; i++)
        {
            var (name, shape) = shapes[i];
            float[] data = checkpoint.ReadTensor(name, shape);
            parameters += data.Length;
            LayerResult? layer = precomputed?.GetValueOrDefault(name);
            if (layer is null && shape.Length == 2 && stages.Any(st => LayerSelector.Matches(name, st.Targets, st.Ignore)))
            {
                using var w = TorchSharp.torch.tensor(data).view(shape);
                layer = LayerCompressor.Compress(name, w, null, stages);
            }
            if (layer is not null)
            {
                var layerReport = new JsonObject { ["tensor"] = name };
                if (layer.Quantized is { } qm)
                {
                    layerReport["relative_weight_error"] = RelativeError(data, qm.Dequantize());
                    // A pruned layer whose every four columns hold at most two non-zero weights stores only those (2:4 layout).
                    byte[]? sparseCodes = layer.Sparsity is not null && qm.Outliers is not { Count: > 0 } && Sparse24Layout.Supports(qm.Bits, qm.Cols, qm.GroupSize)
                        ? Sparse24Layout.TryPack(qm.Codes, qm.Zeros, qm.Rows, qm.Cols, qm.GroupSize) : null;
                    var parts = new Dictionary<string, BlobRef>
                    {
                        ["qweight"] = writer.AddBlob(sparseCodes ?? qm.PackCodes()),
                        ["scales"] = writer.AddBlob(MemoryMarshal.AsBytes(qm.Scales.AsSpan())),
                        ["zeros"] = writer.AddBlob(qm.Zeros),
                    };
                    if (qm.Outliers is { Count: > 0 } o)
                    {
                        parts["outlier_rows"] = writer.AddBlob(MemoryMarshal.AsBytes(o.RowStart.AsSpan()));
                        parts["outlier_cols"] = writer.AddBlob(MemoryMarshal.AsBytes(o.Columns.AsSpan()));
                        parts["outlier_values"] = writer.AddBlob(MemoryMarshal.AsBytes(o.Values.AsSpan()));
                        layerReport["outliers"] = o.Count;
                    }
                    writer.AddTensor(new TensorEntry
                    {
                        Name = name, Format = sparseCodes is null ? TensorLayout.GroupQuantized : TensorLayout.GroupQuantizedSparse24, Shape = shape, Bits = qm.Bits, GroupSize = qm.GroupSize, Symmetric = qm.Symmetric,
                        Sparsity = layer.Sparsity, OutlierCount = qm.Outliers?.Count ?? 0, Parts = parts,
                    });
                }
                else
                {
                    layerReport["relative_weight_error"] = RelativeError(data, layer.Dense!);
                    string format = HalfWidth(checkpoint, name, layer.Dense!);
                    byte[] halves = HalfWidthStorage.Encode(format, layer.Dense!);
                    // The 2:4 layout holds f16 values; a bf16 matrix keeps its zeros in the dense layout.
                    byte[]? sparseHalves = format == TensorLayout.F16 && layer.Sparsity is not null && shape[1] % Sparse24Layout.ChunkColumns == 0
                        ? Sparse24Layout.TryPackHalf(MemoryMarshal.Cast<byte, Half>(halves), (int)shape[0], (int)shape[1]) : null;
                    writer.AddTensor(new TensorEntry
                    {
                        Name = name, Format = sparseHalves is null ? format : TensorLayout.F16Sparse24, Shape = shape, Sparsity = layer.Sparsity,
                        Parts = new() { ["data"] = writer.AddBlob(sparseHalves ?? halves) },
                    });
                }
                if (layer.RelativeOutputError is double e) layerReport["relative_output_error"] = Math.Round(e, 6);
                if (layer.Sparsity is not null) layerReport["zero_fraction"] = Math.Round(layer.ZeroFraction, 6);
                linearWeights += data.Length;
                zeroWeights += layer.Sparsity is null ? 0 : (long)Math.Round(layer.ZeroFraction * data.Length);
                if (layer.DampRaisedTo is double d) layerReport["damp_raised_to"] = d;
                layerErrors.Add(layerReport);
            }
            else if (shape.Length == 1)
                writer.AddTensor(new TensorEntry { Name = name, Format = TensorLayout.F32, Shape = shape, Parts = new() { ["data"] = writer.AddBlob(MemoryMarshal.AsBytes(data.AsSpan())) } });
            else
            {
                string format = HalfWidth(checkpoint, name, data);
                writer.AddTensor(new TensorEntry { Name = name, Format = format, Shape = shape, Parts = new() { ["data"] = writer.AddBlob(HalfWidthStorage.Encode(format, data)) } });
            }
            bool endOfBlock = i + 1 == shapes.Count || BlockOf(shapes[i + 1].Name) != BlockOf(name);
            if (endOfBlock && BlockOf(name) is int block)
            {
                double perBlock = sw.Elapsed.TotalSeconds / (block + 1);
                log?.Invoke($"block {block + 1}/{c.NumHiddenLayers} written ({sw.Elapsed.TotalSeconds:F1}s, ETA {perBlock * (c.NumHiddenLayers - block - 1):F0}s)");
            }
        }

        var report = new JsonObject
        {
            ["stages"] = new JsonArray(stages.Select(s => (JsonNode)JsonValue.Create(Describe(s))).ToArray()),
            ["layers"] = layerErrors,
            ["compress_seconds"] = Math.Round(sw.Elapsed.TotalSeconds, 2),
            ["parameters"] = parameters,
            // Over the compressed projections: the fraction of their weights pruned to zero.
            ["zero_fraction"] = linearWeights == 0 ? 0.0 : Math.Round((double)zeroWeights / linearWeights, 4),
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
        if (spec?.Gates is { } gates)
        {
            try { report["gate"] = QualityGate.Check(gates, spec.SourcePath, checkpoint, packPath, layerErrors, log); }
            catch
            {
                File.Delete(packPath);
                throw;
            }
            File.Move(packPath, outputPath, overwrite: true);
        }
        long packBytes = new FileInfo(outputPath).Length;
        report["pack_bytes"] = packBytes;
        return new Result(outputPath, packBytes, report);
    }

    /// <summary>f16 or bf16 for an unquantized matrix (<see cref="HalfWidthStorage"/>); says so when f16's range forces bf16.</summary>
    private string HalfWidth(Checkpoint checkpoint, string name, float[] values)
    {
        var source = checkpoint.Entry(name).DType;
        string format = HalfWidthStorage.Choose(source, values);
        if (format == TensorLayout.BF16 && source != TensorDType.BF16)
            log?.Invoke($"{name}: values beyond f16's range (±65504); stored as bf16 instead of f16.");
        return format;
    }

    /// <summary>
    /// Before any work: every targeted layer's input width must suit the stage (a multiple of group_size or of M),
    /// and every stage must match at least one layer. Errors name the layer and the spec line.
    /// </summary>
    private static void CheckShapes(Checkpoint checkpoint, IReadOnlyList<StageSpec> stages)
    {
        var linear = TorchLlama.WeightShapes(checkpoint.Config).Where(t => t.Shape.Length == 2).ToList(); // no lm_head when tied
        foreach (var stage in stages)
        {
            var matched = linear.Where(t => LayerSelector.Matches(t.Name, stage.Targets, stage.Ignore)).ToList();
            if (matched.Count == 0)
                throw new ModelBuildException(ErrorCodes.SpecInvalidValue, $"targets [{string.Join(", ", stage.Targets)}] minus ignore [{string.Join(", ", stage.Ignore)}] match no layer of this model.",
                    stage.Location.File, stage.Location.Line, stage.Location.Column, checkpoint.Config.TieWordEmbeddings ? "lm_head is tied to the embedding here and cannot be compressed separately." : "use attention, mlp, lm_head or a projection name.");
            int multiple = stage switch
            {
                QuantizeSpec { GroupSize: > 0 } q => q.GroupSize,
                SparsifySpec sp when Sparsity.SparsityPattern.TryParse(sp.Pattern) is { IsNM: true } p => p.M,
                _ => 1,
            };
            foreach (var (name, shape) in matched)
                if (shape[1] % multiple != 0)
                    throw new ModelBuildException(ErrorCodes.SpecInvalidValue, $"{(stage is QuantizeSpec ? "group_size" : "pattern")} needs input columns in multiples of {multiple}, but '{name}' has {shape[1]}.",
                        stage.Location.File, stage.Location.Line, stage.Location.Column, stage is QuantizeSpec ? $"choose a group_size that divides {shape[1]}, or -1 for one group per row." : "exclude that layer with ignore.");
        }
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
