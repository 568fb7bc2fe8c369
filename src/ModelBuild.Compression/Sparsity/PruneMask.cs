using static TorchSharp.torch;

namespace ModelBuild.Compression.Sparsity;

/// <summary>
/// Chooses which weights to prune from per-weight importance scores [rows, cols]: per row the lowest-scoring
/// fraction (unstructured), or in every group of M consecutive columns of a row the M − N lowest (N:M).
/// Returns a bool mask, true where a weight is pruned. Ties go to the lower column index, deterministically.
/// </summary>
public static class PruneMask
{
    public static Tensor Select(Tensor scores, SparsityPattern pattern)
    {
        long rows = scores.shape[0], cols = scores.shape[1];
        if (pattern.IsNM)
        {
            if (cols % pattern.M != 0) throw new ArgumentException($"{pattern} sparsity needs the column count ({cols}) to be a multiple of {pattern.M}.");
            var groups = scores.reshape(rows, cols / pattern.M, pattern.M);
            var (_, idx) = groups.sort(-1, stable: true);
            var mask = zeros(rows, cols / pattern.M, pattern.M, dtype: ScalarType.Bool);
            mask.scatter_(-1, idx.narrow(-1, 0, pattern.M - pattern.N), ones_like(idx.narrow(-1, 0, pattern.M - pattern.N), dtype: ScalarType.Bool));
            return mask.reshape(rows, cols);
        }
        long prune = (long)Math.Round(pattern.Fraction * cols);
        var result = zeros(rows, cols, dtype: ScalarType.Bool);
        if (prune == 0) return result;
        var (_, order) = scores.sort(-1, stable: true);
        result.scatter_(-1, order.narrow(-1, 0, prune), ones(rows, prune, dtype: ScalarType.Bool));
        return result;
    }
}
