namespace ModelBuild.Runtime.Weights;

/// <summary>The element type of an unquantized matrix in the pack.</summary>
public enum DenseElement { F32, F16, BF16 }
