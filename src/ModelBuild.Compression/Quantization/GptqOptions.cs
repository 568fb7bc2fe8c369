namespace ModelBuild.Compression.Quantization;

/// <summary>GPTQ settings. GroupSize -1 means one group per row. ActOrder always uses static groups (see <see cref="GptqQuantizer"/>).</summary>
public sealed record GptqOptions(int Bits, int GroupSize, bool Symmetric, bool ActOrder, double Damp, int BlockSize = 128);
