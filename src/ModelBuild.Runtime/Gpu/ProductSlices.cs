namespace ModelBuild.Runtime.Gpu;

/// <summary>
/// How a product's launch is cut: rows RowStart…RowStart+RowCount−1 of a Rows × Cols matrix for Tokens tokens, the
/// columns in Slices slices of PerSlice units each (whole groups of GroupSize for quantized codes, else columns).
/// With one slice the kernel writes y; with more, each slice writes its partial sums, [slice, token, launched row],
/// and <see cref="IlgpuKernels.SumSlices"/> adds them in slice order (deterministic).
/// </summary>
internal readonly struct ProductSlices(int rowStart, int rowCount, int rows, int cols, int tokens, int slices, int perSlice, int groupSize, int containerBits)
{
    public readonly int RowStart = rowStart, RowCount = rowCount, Rows = rows, Cols = cols, Tokens = tokens;
    public readonly int Slices = slices, PerSlice = perSlice, GroupSize = groupSize, ContainerBits = containerBits;

    // A GPU needs tens of thousands of threads in flight to stream its memory; decode's products have a few thousand
    // rows, so their columns are cut into slices until about this many threads run (at most MaxSlices slices).
    private const int TargetThreads = 1 << 16, MaxSlices = 16;

    /// <summary>The cut for a launch whose columns divide into <paramref name="units"/> units (groups or columns).</summary>
    public static ProductSlices For(int rowStart, int rowCount, int rows, int cols, int tokens, int units, int groupSize, int containerBits)
    {
        int slices = Math.Clamp(TargetThreads / Math.Max(1, rowCount * tokens), 1, Math.Min(MaxSlices, units));
        int perSlice = (units + slices - 1) / slices;
        return new(rowStart, rowCount, rows, cols, tokens, (units + perSlice - 1) / perSlice, perSlice, groupSize, containerBits);
    }

    /// <summary>Where a thread of slice <paramref name="slice"/> puts row r's sum for token t.</summary>
    public long Target(int slice, int t, int r) =>
        Slices == 1 ? (long)t * Rows + r : ((long)slice * Tokens + t) * RowCount + r - RowStart;
}
