using System.Runtime.Intrinsics.X86;
using ModelBuild.Format.Pack;
using ModelBuild.Runtime.Kernels;

namespace ModelBuild.Runtime.Tests;

/// <summary>
/// The AVX2 kernels with AVX-VNNI (vpdpbusd) against the same kernels through 16-bit pairs, on random codes and int8
/// activations at their extremes: 2-4 bit codes give the same integer lane sums either way, so the results must be
/// identical; 8-bit codes group products differently within a block, so they agree to float rounding.
/// </summary>
public unsafe class VnniKernelTests
{
    private delegate float Kernel(byte* q, float* scales, float* scaleZeros, float* groupSums, int cols, int groupSize, sbyte* x, float* activationScales);

    [Theory]
    [InlineData(4, 384, 128)]
    [InlineData(4, 1024, 256)]
    [InlineData(3, 384, 128)]
    [InlineData(2, 512, 256)]
    [InlineData(8, 256, 64)]
    public void Avx2_kernels_with_and_without_vnni_agree(int bits, int cols, int groupSize)
    {
        if (!Avx2.IsSupported || !AvxVnni.IsSupported) return; // the two are one path on this CPU
        var (withVnni, without) = bits switch
        {
            2 => ((Kernel)Int2GroupDot.Avx2, (Kernel)Int2GroupDot.Avx2WithoutVnni),
            3 => (Int3GroupDot.Avx2, Int3GroupDot.Avx2WithoutVnni),
            4 => (Int4GroupDot.Avx2, Int4GroupDot.Avx2WithoutVnni),
            _ => ((Kernel)Int8GroupDot.Avx2, (Kernel)Int8GroupDot.Avx2WithoutVnni),
        };
        var rng = new Random(bits * 1000 + cols);
        int groups = cols / groupSize;
        var codes = new byte[TensorLayout.PackedRowBytes(cols, bits)];
        var x = new sbyte[cols];
        var scales = new float[groups];
        var scaleZeros = new float[groups];
        var groupSums = new float[groups];
        var activationScales = new float[bits == 8 ? cols / 32 : cols / 8];
        for (int trial = 0; trial < 20; trial++)
        {
            rng.NextBytes(codes);
            if (trial == 0) Array.Fill(codes, (byte)0xFF); // the largest codes against the largest activations
            for (int i = 0; i < cols; i++) x[i] = trial == 0 ? (sbyte)(i % 2 == 0 ? 127 : -127) : (sbyte)rng.Next(-127, 128);
            for (int g = 0; g < groups; g++) (scales[g], scaleZeros[g], groupSums[g]) = (rng.NextSingle(), rng.NextSingle(), rng.NextSingle() - 0.5f);
            for (int i = 0; i < activationScales.Length; i++) activationScales[i] = rng.NextSingle() / 127;
            fixed (byte* q = codes)
            fixed (sbyte* a = x)
            fixed (float* s = scales, sz = scaleZeros, gs = groupSums, scale = activationScales)
            {
                float expected = without(q, s, sz, gs, cols, groupSize, a, scale), actual = withVnni(q, s, sz, gs, cols, groupSize, a, scale);
                if (bits == 8) Assert.True(Math.Abs(actual - expected) <= 1e-5f * (1 + Math.Abs(expected)), $"trial {trial}: {actual} vs {expected}");
                else Assert.Equal(expected, actual);
            }
        }
    }
}
