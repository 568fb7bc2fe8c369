namespace ModelBuild.Compression.Quantization;

/// <summary>
/// Min-max affine quantization of one group of weights (as in GPTQ's quantizer): the range always
/// includes 0; asymmetric grids pick scale = (max - min) / maxq and zero = round(-min / scale);
/// symmetric grids centre the zero. The scale is rounded to f16 before use, so codes match what is stored.
/// </summary>
public readonly record struct GroupQuantizer(float Scale, byte Zero, int MaxQ)
{
    public static GroupQuantizer Fit(ReadOnlySpan<float> weights, int bits, bool symmetric)
    {
        int maxq = (1 << bits) - 1;
        float min = 0, max = 0;
        foreach (var w in weights)
        {
            if (w < min) min = w;
            if (w > max) max = w;
        }
        if (symmetric)
        {
            float m = Math.Max(-min, max);
            min = -m;
            max = m;
        }
        if (max == min) { min -= 1; max += 1; } // all-zero group: any grid works, keep it finite
        float scale = (float)(Half)((max - min) / maxq);
        if (scale == 0) scale = (float)Half.Epsilon;
        int zero = symmetric ? (maxq + 1) / 2 : (int)Math.Round(-min / scale, MidpointRounding.ToEven);
        return new GroupQuantizer(scale, (byte)Math.Clamp(zero, 0, maxq), maxq);
    }

    public int Code(float w) => Math.Clamp((int)Math.Round(w / Scale, MidpointRounding.ToEven) + Zero, 0, MaxQ);

    public float Value(int code) => (code - Zero) * Scale;

    public float Quantize(float w) => Value(Code(w));
}
