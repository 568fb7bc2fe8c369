using ModelBuild.Compression.Torch;
using ModelBuild.Compression.Quantization;
using static TorchSharp.torch;

namespace ModelBuild.Compression.Sparsity;

/// <summary>
/// SparseGPT (Frantar &amp; Alistarh 2023): with U the upper Cholesky factor of H⁻¹ (as in GPTQ), walk the
/// columns in blocks; at each block (or each group of M columns for N:M) prune per row the weights with the
/// smallest w² / U_jj², then for every column set pruned weights to 0 and spread the error
/// e = (w − q) / U_ii over the remaining columns: W[:, i+1:] −= e · U[i, i+1:].
/// </summary>
public static class SparseGptPruner
{
    public sealed record Result(Tensor Weight, Tensor Mask, double DampUsed);

    public static Result Prune(Tensor weight, Tensor hessian, SparsityPattern pattern, double damp, int blockSize = 128)
    {
        int rows = (int)weight.shape[0], cols = (int)weight.shape[1];
        if (pattern.IsNM && blockSize % pattern.M != 0) blockSize = pattern.M * Math.Max(1, blockSize / pattern.M);
        var (W, H) = GptqQuantizer.WorkingCopies(weight, hessian);
        var (U, dampUsed) = GptqQuantizer.UpperCholeskyOfInverse(H, damp);
        var mask = zeros(rows, cols, dtype: ScalarType.Bool);

        for (int i1 = 0; i1 < cols; i1 += blockSize)
        {
            int count = Math.Min(blockSize, cols - i1);
            using var scope = NewDisposeScope();
            var W1 = W.narrow(1, i1, count).clone();
            var Err1 = zeros(rows, count);
            var U1 = U.narrow(0, i1, count).narrow(1, i1, count);
            var d2 = U1.diagonal().square().unsqueeze(0);
            var mask1 = pattern.IsNM ? zeros(rows, count, dtype: ScalarType.Bool) : PruneMask.Select(W1.square() / d2, pattern);
            for (int i = 0; i < count; i++)
            {
                if (pattern.IsNM && i % pattern.M == 0)
                    mask1.narrow(1, i, pattern.M).copy_(PruneMask.Select(W1.narrow(1, i, pattern.M).square() / d2.narrow(1, i, pattern.M), pattern));
                var w = W1.select(1, i);
                var q = w.masked_fill(mask1.select(1, i), TorchScalars.Zero); // a held Scalar (see TorchScalars)
                var err = (w - q) / U1[i, i];
                W1.narrow(1, i, count - i).sub_(err.unsqueeze(1) * U1[i].narrow(0, i, count - i).unsqueeze(0));
                W1.select(1, i).copy_(q); // exact zeros, free of rounding in the update
                Err1.select(1, i).copy_(err);
            }
            W.narrow(1, i1, count).copy_(W1);
            mask.narrow(1, i1, count).copy_(mask1);
            if (i1 + count < cols)
                W.narrow(1, i1 + count, cols - i1 - count).sub_(Err1.matmul(U.narrow(0, i1, count).narrow(1, i1 + count, cols - i1 - count)));
        }
        return new Result(W, mask, dampUsed);
    }
}
