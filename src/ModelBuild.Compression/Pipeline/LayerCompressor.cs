using ModelBuild.Compression.Torch;
using ModelBuild.Compression.Quantization;
using ModelBuild.Compression.Sparsity;
using ModelBuild.Compression.Spec;
using static TorchSharp.torch;

namespace ModelBuild.Compression.Pipeline;

/// <summary>What compression made of one linear layer: a quantized matrix, or dense weights (possibly sparse).</summary>
public sealed record LayerResult(string Name, QuantizedMatrix? Quantized, float[]? Dense, string? Sparsity, double ZeroFraction,
    double? RelativeOutputError, double? DampRaisedTo);

/// <summary>
/// Applies the spec's stages, in order, to one linear layer given its Hessian (null when no stage needs
/// calibration). Sparsify then quantize keeps pruned weights exactly zero; quantize then sparsify (only when
/// allowed) prunes the quantized weights without further updates.
/// </summary>
public static class LayerCompressor
{
    public static bool NeedsCalibration(StageSpec s) => s is QuantizeSpec { Method: "gptq" } || s is SparsifySpec { Method: "wanda" or "sparsegpt" };

    public static LayerResult Compress(string name, Tensor weight, Tensor? hessian, IReadOnlyList<StageSpec> stages)
    {
        using var scope = NewDisposeScope();
        var w = weight.to(ScalarType.Float32);
        Tensor? pruned = null;
        QuantizedMatrix? quantized = null;
        string? sparsity = null;
        double? damp = null;
        int rows = (int)w.shape[0], cols = (int)w.shape[1];
        foreach (var stage in stages)
        {
            if (!LayerSelector.Matches(name, stage.Targets, stage.Ignore)) continue;
            switch (stage)
            {
                case SparsifySpec sp:
                {
                    var pattern = SparsityPattern.TryParse(sp.Pattern)!;
                    Tensor mask;
                    if (sp.Method == "sparsegpt" && quantized is null)
                    {
                        var r = SparseGptPruner.Prune(w, hessian!, pattern, 0.01);
                        (w, mask) = (r.Weight, r.Mask);
                        if (r.DampUsed != 0.01) damp = r.DampUsed;
                    }
                    else
                    {
                        // Magnitude, Wanda, and any method after quantization: choose the mask, no update.
                        mask = sp.Method == "magnitude" ? ScorePruners.Magnitude(w, pattern)
                            : sp.Method == "wanda" ? ScorePruners.Wanda(w, hessian!, pattern)
                            : PruneMask.Select(w.square() / InverseDiagonal(hessian!), pattern);
                        w = w.Filled(mask, 0);
                    }
                    pruned = pruned is null ? mask : pruned | mask;
                    sparsity = pattern.ToString();
                    if (quantized is not null) quantized = ZeroPruned(quantized, mask);
                    break;
                }
                case QuantizeSpec q:
                {
                    if (q.Method == "gptq")
                    {
                        var r = GptqQuantizer.Quantize(w, hessian!, new GptqOptions(q.Bits, q.GroupSize, q.Symmetric, q.ActOrder, q.Damp, Outliers: q.Outliers), pruned);
                        quantized = r.Matrix;
                        if (r.DampUsed != q.Damp) damp = r.DampUsed;
                    }
                    else
                    {
                        if (q.Outliers > 0)
                            throw new Diagnostics.ModelBuildException(Diagnostics.ErrorCodes.SpecNotSupported, "outliers need method: gptq (they are chosen by Hessian-weighted error).",
                                q.Location.File, q.Location.Line, q.Location.Column, "use method: gptq, or remove outliers.");
                        quantized = RtnQuantizer.Quantize(w.contiguous().data<float>().ToArray(), rows, cols, q.Bits, q.GroupSize == -1 ? cols : q.GroupSize, q.Symmetric);
                    }
                    w = tensor(quantized.Dequantize()).view(rows, cols);
                    break;
                }
            }
        }
        var final = w.contiguous().data<float>().ToArray();
        double zeros = final.Count(v => v == 0) / (double)final.Length;
        double? outputError = null;
        if (hessian is not null)
        {
            var diff = weight.to(ScalarType.Float32) - w;
            var original = weight.to(ScalarType.Float32);
            // ||(W − Ŵ)X||² / ||WX||² = tr(D H Dᵀ) / tr(W H Wᵀ)
            outputError = Math.Sqrt(diff.matmul(hessian).mul(diff).sum().item<float>() / Math.Max(1e-30, original.matmul(hessian).mul(original).sum().item<float>()));
        }
        return new LayerResult(name, quantized, quantized is null ? final : null, sparsity, zeros, outputError, damp);
    }

    /// <summary>diag(H⁻¹) broadcast over rows, for OBS-style saliency w² / [H⁻¹]_jj.</summary>
    private static Tensor InverseDiagonal(Tensor hessian)
    {
        var (U, _) = GptqQuantizer.UpperCholeskyOfInverse(hessian, 0.01);
        return U.square().sum(0).unsqueeze(0); // [UᵀU]_jj = Σ_i U_ij²
    }

    private static QuantizedMatrix ZeroPruned(QuantizedMatrix q, Tensor mask)
    {
        var codes = (byte[])q.Codes.Clone();
        var m = mask.contiguous().data<bool>().ToArray();
        for (int i = 0; i < codes.Length; i++)
            if (m[i]) codes[i] = q.Zeros[(i / q.Cols) * q.GroupsPerRow + (i % q.Cols) / q.GroupSize];
        return q with { Codes = codes };
    }
}
