namespace ModelBuild.Compression.Quantization;

/// <summary>Round-to-nearest: every group quantized independently, no error feedback. The baseline GPTQ improves on.</summary>
public static class RtnQuantizer
{
    public static QuantizedMatrix Quantize(float[] w, int rows, int cols, int bits, int groupSize, bool symmetric)
    {
        if (groupSize == -1) groupSize = cols;
        if (cols % groupSize != 0) throw new ArgumentException($"group size {groupSize} does not divide {cols} columns.");
        int groups = cols / groupSize;
        var codes = new byte[(long)rows * cols];
        var scales = new Half[rows * groups];
        var zeros = new byte[rows * groups];
        Parallel.For(0, rows, r =>
        {
            for (int g = 0; g < groups; g++)
            {
                var group = w.AsSpan(r * cols + g * groupSize, groupSize);
                var q = GroupQuantizer.Fit(group, bits, symmetric);
                scales[r * groups + g] = (Half)q.Scale;
                zeros[r * groups + g] = q.Zero;
                for (int c = 0; c < groupSize; c++) codes[(long)r * cols + g * groupSize + c] = (byte)q.Code(group[c]);
            }
        });
        return new QuantizedMatrix(rows, cols, bits, groupSize, symmetric, codes, scales, zeros);
    }
}
