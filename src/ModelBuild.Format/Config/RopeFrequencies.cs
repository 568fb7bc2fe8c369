namespace ModelBuild.Format.Config;

/// <summary>RoPE inverse frequencies per rotary pair, with rope_scaling applied as Hugging Face does.</summary>
public static class RopeFrequencies
{
    public static double[] InverseFrequencies(LlamaConfig c)
    {
        int half = c.HeadDim / 2;
        var inv = new double[half];
        for (int i = 0; i < half; i++) inv[i] = 1.0 / Math.Pow(c.RopeTheta, 2.0 * i / c.HeadDim);
        switch (c.RopeScaling)
        {
            case { Type: "linear" } s:
                for (int i = 0; i < half; i++) inv[i] /= s.Factor;
                break;
            case { Type: "llama3" } s:
                // Long wavelengths are slowed by factor, short ones kept, the band between interpolated.
                double lowWavelen = s.OriginalMaxPositionEmbeddings / s.LowFreqFactor;
                double highWavelen = s.OriginalMaxPositionEmbeddings / s.HighFreqFactor;
                for (int i = 0; i < half; i++)
                {
                    double wavelen = 2 * Math.PI / inv[i];
                    if (wavelen > lowWavelen) inv[i] /= s.Factor;
                    else if (wavelen >= highWavelen)
                    {
                        double smooth = (s.OriginalMaxPositionEmbeddings / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
                        inv[i] = (1 - smooth) * inv[i] / s.Factor + smooth * inv[i];
                    }
                }
                break;
        }
        return inv;
    }
}
