using TorchSharp;
using ModelBuild.Compression.Torch;
using static TorchSharp.torch;

namespace ModelBuild.Compression.Quantization;

/// <summary>
/// GPTQ (Frantar et al. 2022): quantize W column by column, spreading each column's error over the columns
/// not yet quantized through the upper Cholesky factor U of H⁻¹ (H = 2XXᵀ), in lazy blocks.
///   q = quant(w_i);  e = (w_i − q) / U_ii;  W[:, i+1:] −= e · U[i, i+1:]
/// With act-order, columns are visited by descending diag(H), and group grids are fixed up front from the
/// original contiguous groups ("static groups"), so the pack needs no column permutation at run time.
/// </summary>
public static class GptqQuantizer
{
    public sealed record Result(QuantizedMatrix Matrix, double DampUsed);

    /// <param name="pruned">Optional mask (true = pruned) from an earlier sparsify stage: those weights stay exactly zero.</param>
    public static Result Quantize(Tensor weight, Tensor hessian, GptqOptions o, Tensor? pruned = null)
    {
        using var scope = NewDisposeScope();
        int rows = (int)weight.shape[0], cols = (int)weight.shape[1];
        int group = o.GroupSize == -1 ? cols : o.GroupSize;
        if (cols % group != 0) throw new ArgumentException($"group size {group} does not divide {cols} columns.");
        int groups = cols / group, maxq = (1 << o.Bits) - 1;
        int block = o.BlockSize % group == 0 || group % o.BlockSize == 0 ? o.BlockSize : group;

        var (W, H) = WorkingCopies(weight, hessian);

        var scales = new Half[rows * groups];
        var zeroPoints = new byte[rows * groups];
        if (o.ActOrder) FitGroups(W, 0, cols, group, o, scales, zeroPoints); // static groups from the original columns

        Tensor? perm = null;
        if (o.ActOrder)
        {
            perm = argsort(H.diagonal(), descending: true);
            W = W.index_select(1, perm);
            H = H.index_select(0, perm).index_select(1, perm);
            pruned = pruned?.index_select(1, perm);
        }
        var (U, dampUsed) = UpperCholeskyOfInverse(H, o.Damp);
        long[] order = perm is null ? Enumerable.Range(0, cols).Select(i => (long)i).ToArray() : perm.data<long>().ToArray();

        var codes = zeros_like(W, dtype: ScalarType.Int64);
        int outliersPerColumn = (int)Math.Round(o.Outliers * rows);
        var outliers = new List<(int Row, int Col, Half Value)>();
        var scaleCols = empty(rows, groups);
        var zeroCols = empty(rows, groups);
        if (o.ActOrder) LoadGroups(scaleCols, zeroCols, scales, zeroPoints, rows, groups);
        // The loop's scalar operands, held for the whole scan (see TorchScalars for why none is implicit).
        var (zero, one) = (TorchScalars.Zero, TorchScalars.One);
        using var top = maxq.ToScalar();

        for (int i1 = 0; i1 < cols; i1 += block)
        {
            int count = Math.Min(block, cols - i1);
            using var blockScope = NewDisposeScope();
            var W1 = W.narrow(1, i1, count).clone();
            var Err1 = zeros(rows, count);
            var U1 = U.narrow(0, i1, count).narrow(1, i1, count);
            for (int i = 0; i < count; i++)
            {
                int col = i1 + i;
                if (!o.ActOrder && col % group == 0)
                {
                    // Grid chosen when the scan reaches the group's first column, from its current (updated) weights.
                    FitGroups(W1, i, Math.Min(group, count - i), group, o, scales, zeroPoints, firstGroup: col / group, fullWidth: group <= count - i ? null : W.narrow(1, i1 + count, group - (count - i)));
                    LoadGroups(scaleCols, zeroCols, scales, zeroPoints, rows, groups, col / group);
                }
                long g = order[col] / group;
                var s = scaleCols.select(1, g);
                var z = zeroCols.select(1, g);
                var w = W1.select(1, i);
                var code = (w / s).round().add(z, one).clamp(zero, top);
                if (pruned is not null) code = where(pruned.select(1, col), z, code); // code z decodes to exactly 0
                var q = (code - z) * s;
                if (outliersPerColumn > 0)
                {
                    // SpQR-style: the weights whose error (w − q)² / U_ii² is largest keep their exact value,
                    // so they add no error to spread (U_ii is shared by the column, so |w − q| ranks them).
                    var largest = (w - q).abs().topk(outliersPerColumn).indexes;
                    var exact = w.index_select(0, largest).to(ScalarType.Float16).to(ScalarType.Float32);
                    q = q.index_copy(0, largest, exact);
                    var rowsKept = largest.data<long>().ToArray();
                    var values = exact.data<float>().ToArray();
                    for (int k = 0; k < rowsKept.Length; k++) outliers.Add(((int)rowsKept[k], (int)order[col], (Half)values[k]));
                }
                var err = (w - q) / U1[i, i];
                W1.narrow(1, i, count - i).sub_(err.unsqueeze(1) * U1[i].narrow(0, i, count - i).unsqueeze(0));
                Err1.select(1, i).copy_(err);
                codes.select(1, col).copy_(code.to(ScalarType.Int64));
            }
            if (i1 + count < cols)
                W.narrow(1, i1 + count, cols - i1 - count).sub_(Err1.matmul(U.narrow(0, i1, count).narrow(1, i1 + count, cols - i1 - count)));
        }

        if (perm is not null) codes = codes.index_select(1, argsort(perm));
        var codeBytes = codes.to(ScalarType.Byte).contiguous().data<byte>().ToArray();
        return new Result(new QuantizedMatrix(rows, cols, o.Bits, group, o.Symmetric, codeBytes, scales, zeroPoints,
            outliers.Count > 0 ? OutlierList.FromTriples(rows, outliers) : null), dampUsed);
    }

    /// <summary>
    /// Float32 copies of W and H to update in place, with dead columns (H_jj = 0: the input never varies)
    /// given H_jj = 1 and W[:, j] = 0, as GPTQ and SparseGPT both require.
    /// </summary>
    public static (Tensor W, Tensor H) WorkingCopies(Tensor weight, Tensor hessian)
    {
        var W = weight.to(ScalarType.Float32).clone();
        var H = hessian.to(ScalarType.Float32).clone();
        var dead = H.diagonal().eq(TorchScalars.Zero);
        H.diagonal().masked_fill_(dead, TorchScalars.One);
        W.masked_fill_(dead.unsqueeze(0), TorchScalars.Zero);
        return (W, H);
    }

    /// <summary>
    /// U with H⁻¹ = UᵀU after adding λ = damp·mean(diag H) to the diagonal. If H is still not positive definite,
    /// damp is raised tenfold (up to 1.0) rather than failing, as GPTQModel does.
    /// </summary>
    public static (Tensor U, double Damp) UpperCholeskyOfInverse(Tensor H, double damp)
    {
        double mean = H.diagonal().mean().item<float>();
        for (double d = damp; ; d = d <= 0 ? 1e-4 : Math.Min(1.0, d * 10))
        {
            var Hd = H.clone();
            using (var lambda = (d * mean).ToScalar()) Hd.diagonal().add_(lambda);
            var (L, info) = linalg.cholesky_ex(Hd);
            if (info.item<int>() == 0)
            {
                var Hinv = cholesky_inverse(L);
                var (L2, info2) = linalg.cholesky_ex(Hinv);
                if (info2.item<int>() == 0) return (L2.t().contiguous(), d);
            }
            if (d >= 1.0) throw new InvalidOperationException("the Hessian is not positive definite even with damp 1.0; the calibration data may be degenerate (too few or repeated tokens).");
        }
    }

    /// <summary>Fits min-max grids (<see cref="GroupQuantizer"/>) for the groups starting at column <paramref name="start"/> of <paramref name="w"/>.</summary>
    private static void FitGroups(Tensor w, int start, int width, int group, GptqOptions o, Half[] scales, byte[] zeros, int firstGroup = 0, Tensor? fullWidth = null)
    {
        int rows = (int)w.shape[0], groups = scales.Length / rows;
        var values = w.narrow(1, start, width);
        if (fullWidth is not null) values = cat(new[] { values, fullWidth }, 1);
        int span = (int)values.shape[1];
        var data = values.contiguous().data<float>().ToArray();
        for (int g = 0; g < span / group; g++)
            for (int r = 0; r < rows; r++)
            {
                var groupValues = data.AsSpan(r * span + g * group, group);
                var q = GroupQuantizer.Fit(o.Outliers > 0 ? WithoutLargest(groupValues, (int)Math.Ceiling(o.Outliers * group)) : groupValues, o.Bits, o.Symmetric);
                scales[r * groups + firstGroup + g] = (Half)q.Scale;
                zeros[r * groups + firstGroup + g] = q.Zero;
            }
    }

    /// <summary>The group without its <paramref name="count"/> largest-magnitude weights: likely outliers should not stretch the grid.</summary>
    private static float[] WithoutLargest(ReadOnlySpan<float> values, int count)
    {
        var sorted = values.ToArray();
        Array.Sort(sorted, (a, b) => Math.Abs(a).CompareTo(Math.Abs(b)));
        return sorted[..Math.Max(1, sorted.Length - count)];
    }

    private static void LoadGroups(Tensor scaleCols, Tensor zeroCols, Half[] scales, byte[] zeros, int rows, int groups, int? only = null)
    {
        var s = tensor(scales.Select(h => (float)h).ToArray()).view(rows, groups);
        var z = tensor(zeros.Select(b => (float)b).ToArray()).view(rows, groups);
        if (only is int g)
        {
            scaleCols.select(1, g).copy_(s.select(1, g));
            zeroCols.select(1, g).copy_(z.select(1, g));
        }
        else
        {
            scaleCols.copy_(s);
            zeroCols.copy_(z);
        }
    }
}
