namespace ModelBuild.Format.Config;

/// <summary>rope_scaling from config.json: none, linear (factor) or llama3 (factor, low/high freq factors, original context).</summary>
public sealed record RopeScaling(string Type, double Factor, double LowFreqFactor = 1, double HighFreqFactor = 4, int OriginalMaxPositionEmbeddings = 8192);
