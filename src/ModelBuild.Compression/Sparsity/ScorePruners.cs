using ModelBuild.Compression.Torch;
using static TorchSharp.torch;

namespace ModelBuild.Compression.Sparsity;

/// <summary>One-shot pruning without weight updates: the baselines SparseGPT is compared against.</summary>
public static class ScorePruners
{
    /// <summary>Magnitude pruning: score |W_ij|.</summary>
    public static Tensor Magnitude(Tensor w, SparsityPattern pattern) => PruneMask.Select(w.abs(), pattern);

    /// <summary>
    /// Wanda (Sun et al. 2023): score |W_ij| · ‖X_j‖₂, compared within each output row. ‖X_j‖ comes from the
    /// Hessian's diagonal (H_jj = 2/N · Σ x_j², so ‖X_j‖ ∝ √H_jj and the ranking is the same).
    /// </summary>
    public static Tensor Wanda(Tensor w, Tensor hessian, SparsityPattern pattern) =>
        PruneMask.Select(w.abs() * hessian.diagonal().AtLeast(0).sqrt().unsqueeze(0), pattern);
}
