namespace ModelBuild.Runtime.Weights;

/// <summary>
/// Group-quantized weights: q (4 bits, low nibble first, or 8 bits) per weight; per group of
/// <c>groupSize</c> columns an f16 scale and a u8 zero point; w = (q - zero) * scale.
/// </summary>
public sealed unsafe class GroupQuantizedMatrix(byte* qweight, Half* scales, byte* zeros, int rows, int cols, int bits, int groupSize) : IWeightMatrix
{
    public int Rows => rows;
    public int Cols => cols;
    public int Bits => bits;
    public int GroupSize => groupSize;

    public void DequantizeRow(int row, Span<float> dst)
    {
        int groups = cols / groupSize;
        int container = Format.Pack.TensorLayout.ContainerBits(bits);
        long rowBytes = (long)cols * container / 8;
        byte* q = qweight + row * rowBytes;
        for (int g = 0; g < groups; g++)
        {
            float scale = (float)scales[(long)row * groups + g];
            float zero = zeros[(long)row * groups + g];
            int start = g * groupSize;
            if (container == 4)
                for (int c = start; c < start + groupSize; c += 2)
                {
                    byte b = q[c >> 1];
                    dst[c] = ((b & 0xF) - zero) * scale;
                    dst[c + 1] = ((b >> 4) - zero) * scale;
                }
            else
                for (int c = start; c < start + groupSize; c++)
                    dst[c] = (q[c] - zero) * scale;
        }
    }
}
