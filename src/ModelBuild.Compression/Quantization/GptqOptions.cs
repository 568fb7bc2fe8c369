namespace ModelBuild.Compression.Quantization;

/// <summary>GPTQ settings. GroupSize -1 means one group per row. ActOrder always uses static groups (see <see cref="GptqQuantizer"/>).</summary>
/// <param name="Outliers">Fraction of weights per column kept exactly (f16) instead of on the grid: those with the largest error.</param>
public sealed record GptqOptions(int Bits, int GroupSize, bool Symmetric, bool ActOrder, double Damp, int BlockSize = 128, double Outliers = 0);
