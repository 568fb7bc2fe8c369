using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelBuild.Runtime.Kernels;

/// <summary>
/// The input rows of one matrix multiply ([Tokens, Cols] floats), plus an int8 copy made on first use by a
/// SIMD kernel: per block of 32 values a scale (max|x| / 127) and the rounded codes. The int4 kernels read the
/// codes in "nibble order": within each 128-column chunk, the 64 even columns first, then the 64 odd ones,
/// matching how two 4-bit weights share a byte (low nibble = even column). The 2:4 kernel gathers from the natural order.
/// </summary>
public sealed class ActivationBatch
{
    public const int BlockSize = 32;

    private bool _quantized;

    public int Cols { get; }
    public int MaxTokens { get; }
    public int Tokens { get; private set; }
    public float[] Values { get; }
    public AlignedBuffer<sbyte> Codes { get; }
    public AlignedBuffer<sbyte> NibbleOrderCodes { get; }
    /// <summary>Per token and 32-block: the code scale.</summary>
    public AlignedBuffer<float> BlockScales { get; }
    /// <summary>Per token and 32-block: the sum of the block's dequantized values (for zero-point terms).</summary>
    public AlignedBuffer<float> BlockSums { get; }
    /// <summary>Per token, per 128-column chunk, 16 lanes: the block scale of the 8 columns a 32-bit lane covers in nibble order.</summary>
    public AlignedBuffer<float> NibbleLaneScales { get; }

    public ActivationBatch(int maxTokens, int cols)
    {
        MaxTokens = maxTokens;
        Cols = cols;
        Values = new float[maxTokens * cols];
        bool blocked = cols % BlockSize == 0;
        Codes = new(blocked ? maxTokens * cols : 0);
        NibbleOrderCodes = new(cols % 128 == 0 ? maxTokens * cols : 0);
        BlockScales = new(blocked ? maxTokens * cols / BlockSize : 0);
        BlockSums = new(BlockScales.Length);
        NibbleLaneScales = new(cols % 128 == 0 ? maxTokens * cols / 8 : 0);
        Tokens = maxTokens;
    }

    /// <summary>Starts a new batch of <paramref name="tokens"/> rows; the caller then writes <see cref="Values"/>.</summary>
    public void Reset(int tokens)
    {
        if (tokens < 1 || tokens > MaxTokens) throw new ArgumentOutOfRangeException(nameof(tokens), $"a batch holds 1..{MaxTokens} tokens.");
        Tokens = tokens;
        _quantized = false;
    }

    /// <summary>Whether int8 kernels can run on this batch (the column count is a multiple of 32).</summary>
    public bool CanQuantize => Codes.Length > 0;

    /// <summary>Makes the int8 copy if the values changed since the last call. Not thread-safe: call before going parallel.</summary>
    public void EnsureQuantized()
    {
        if (_quantized) return;
        if (!CanQuantize) throw new InvalidOperationException($"{Cols} columns are not a multiple of {BlockSize}; int8 activations need whole blocks.");
        int blocks = Cols / BlockSize;
        if (Avx512F.IsSupported && Cols % 128 == 0)
        {
            QuantizeChunksAvx512(blocks);
            _quantized = true;
            return;
        }
        for (int t = 0; t < Tokens; t++)
            for (int b = 0; b < blocks; b++)
                QuantizeBlock(Values.AsSpan(t * Cols + b * BlockSize, BlockSize), Codes.Span.Slice(t * Cols + b * BlockSize, BlockSize),
                    out BlockScales[t * blocks + b], out BlockSums[t * blocks + b]);
        if (NibbleOrderCodes.Length > 0) FillNibbleOrder(blocks);
        _quantized = true;
    }

    private void FillNibbleOrder(int blocks)
    {
        if (Ssse3.IsSupported)
        {
            FillNibbleOrderSsse3(blocks);
            return;
        }
        for (int t = 0; t < Tokens; t++)
        {
            int row = t * Cols;
            for (int chunk = 0; chunk < Cols; chunk += 128)
            {
                for (int k = 0; k < 64; k++)
                {
                    NibbleOrderCodes[row + chunk + k] = Codes[row + chunk + 2 * k];
                    NibbleOrderCodes[row + chunk + 64 + k] = Codes[row + chunk + 2 * k + 1];
                }
                // Lane j of a 128-column chunk covers columns 8j .. 8j+7, all inside block (8j)/32.
                for (int lane = 0; lane < 16; lane++)
                    NibbleLaneScales[t * (Cols / 8) + chunk / 8 + lane] = BlockScales[t * blocks + (chunk + 8 * lane) / BlockSize];
            }
        }
    }

    /// <summary>
    /// The same orders with 16-byte moves (decode runs this once per matrix input, between parallel products, so the
    /// scalar loop above left the worker thread idle for about 3 % of decode time).
    /// </summary>
    private unsafe void FillNibbleOrderSsse3(int blocks)
    {
        // Per 16 codes: the 8 even columns, then the 8 odd ones.
        var evenThenOdd = Vector128.Create((byte)0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
        sbyte* codes = Codes.Pointer, nibble = NibbleOrderCodes.Pointer;
        float* blockScales = BlockScales.Pointer, laneScales = NibbleLaneScales.Pointer;
        for (int t = 0; t < Tokens; t++)
            for (int chunk = 0; chunk < Cols; chunk += 128)
            {
                long at = (long)t * Cols + chunk;
                sbyte* src = codes + at;
                for (int k = 0; k < 4; k++)
                {
                    var first = Vector128.Load((byte*)src + 32 * k);
                    var second = Vector128.Load((byte*)src + 32 * k + 16);
                    var a = Ssse3.Shuffle(first, evenThenOdd).AsUInt64();
                    var b = Ssse3.Shuffle(second, evenThenOdd).AsUInt64();
                    Sse2.UnpackLow(a, b).Store((ulong*)(nibble + at + 16 * k));
                    Sse2.UnpackHigh(a, b).Store((ulong*)(nibble + at + 64 + 16 * k));
                    // Lanes 4k .. 4k+3 cover columns 32k .. 32k+31 in nibble order: block k's scale.
                    Vector128.Create(blockScales[t * blocks + chunk / BlockSize + k]).Store(laneScales + t * (Cols / 8) + chunk / 8 + 4 * k);
                }
            }
    }

    /// <summary>
    /// Quantization and both orders in one pass, 128 columns at a time with AVX-512: decode runs this before every
    /// product on one thread while the other waits (block by block through spans it was about 2 % of decode). The same
    /// arithmetic as <see cref="QuantizeBlock"/>, so the same codes, scales and sums.
    /// </summary>
    private unsafe void QuantizeChunksAvx512(int blocks)
    {
        var evens = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        var odds = evens + Vector512<int>.One;
        sbyte* codes = Codes.Pointer, nibble = NibbleOrderCodes.Pointer;
        float* blockScales = BlockScales.Pointer, blockSums = BlockSums.Pointer, laneScales = NibbleLaneScales.Pointer;
        fixed (float* values = Values)
            for (int t = 0; t < Tokens; t++)
                for (int chunk = 0; chunk < Cols; chunk += 128)
                {
                    long at = (long)t * Cols + chunk;
                    for (int k = 0; k < 4; k++)
                    {
                        // Block k of the chunk: columns 32k .. 32k+31 in two vectors.
                        var v0 = Vector512.Load(values + at + 32 * k);
                        var v1 = Vector512.Load(values + at + 32 * k + 16);
                        float max = MaxOf(Vector512.Max(Vector512.Abs(v0), Vector512.Abs(v1)));
                        float scale = max / 127f;
                        var inverse = Vector512.Create(max > 0 ? 127f / max : 0f);
                        var q0 = Avx512F.ConvertToVector512Int32(v0 * inverse);
                        var q1 = Avx512F.ConvertToVector512Int32(v1 * inverse);
                        int block = t * blocks + chunk / BlockSize + k;
                        blockScales[block] = scale;
                        blockSums[block] = Vector512.Sum(q0 + q1) * scale;
                        var low = Avx512F.ConvertToVector128SByteWithSaturation(q0);
                        var high = Avx512F.ConvertToVector128SByteWithSaturation(q1);
                        low.Store(codes + at + 32 * k);
                        high.Store(codes + at + 32 * k + 16);
                        // Nibble order: the block's 16 even columns at 16k, its 16 odd ones at 64 + 16k.
                        Avx512F.ConvertToVector128SByteWithSaturation(Avx512F.PermuteVar16x32x2(q0, evens, q1)).Store(nibble + at + 16 * k);
                        Avx512F.ConvertToVector128SByteWithSaturation(Avx512F.PermuteVar16x32x2(q0, odds, q1)).Store(nibble + at + 64 + 16 * k);
                        Vector128.Create(scale).Store(laneScales + t * (Cols / 8) + chunk / 8 + 4 * k);
                    }
                }
    }

    /// <summary>The largest of 16 floats (exact in any order).</summary>
    private static float MaxOf(Vector512<float> v)
    {
        var m = Vector256.Max(v.GetLower(), v.GetUpper());
        return MaxOf(Vector128.Max(m.GetLower(), m.GetUpper()));
    }

    /// <summary>The largest of 4 floats.</summary>
    private static float MaxOf(Vector128<float> m4)
    {
        m4 = Vector128.Max(m4, Vector128.Shuffle(m4, Vector128.Create(2, 3, 0, 1)));
        return Vector128.Max(m4, Vector128.Shuffle(m4, Vector128.Create(1, 0, 3, 2))).ToScalar();
    }

    /// <summary>For tests and tools: the int8 copy when the column count allows one.</summary>
    public void EnsureQuantizedIfPossible()
    {
        if (CanQuantize) EnsureQuantized();
    }

    /// <summary>Symmetric int8: scale = max|x| / 127, code = round-half-even(x / scale); also Σ code · scale.</summary>
    public static void QuantizeBlock(ReadOnlySpan<float> x, Span<sbyte> codes, out float scale, out float sum)
    {
        if (Avx2.IsSupported && x.Length == BlockSize)
        {
            QuantizeBlockAvx2(x, codes, out scale, out sum);
            return;
        }
        float max = 0;
        foreach (float v in x) max = MathF.Max(max, MathF.Abs(v));
        scale = max / 127f;
        float inverse = max > 0 ? 127f / max : 0f;
        int total = 0;
        for (int i = 0; i < x.Length; i++)
        {
            int q = (int)MathF.Round(x[i] * inverse);
            codes[i] = (sbyte)q;
            total += q;
        }
        sum = total * scale;
    }

    /// <summary>The same arithmetic on four 8-float vectors (cvtps2dq rounds half to even, as MathF.Round does).</summary>
    private static unsafe void QuantizeBlockAvx2(ReadOnlySpan<float> x, Span<sbyte> codes, out float scale, out float sum)
    {
        fixed (float* p = x)
        fixed (sbyte* c = codes)
        {
            var v0 = Vector256.Load(p); var v1 = Vector256.Load(p + 8); var v2 = Vector256.Load(p + 16); var v3 = Vector256.Load(p + 24);
            var max = Vector256.Max(Vector256.Max(Vector256.Abs(v0), Vector256.Abs(v1)), Vector256.Max(Vector256.Abs(v2), Vector256.Abs(v3)));
            float m = MaxOf(Vector128.Max(max.GetLower(), max.GetUpper()));
            scale = m / 127f;
            var inverse = Vector256.Create(m > 0 ? 127f / m : 0f);
            var q0 = Avx.ConvertToVector256Int32(v0 * inverse); var q1 = Avx.ConvertToVector256Int32(v1 * inverse);
            var q2 = Avx.ConvertToVector256Int32(v2 * inverse); var q3 = Avx.ConvertToVector256Int32(v3 * inverse);
            sum = Vector256.Sum(q0 + q1 + q2 + q3) * scale;
            // Narrow 32 → 16 → 8 bits; the packs interleave 128-bit lanes, which the permute undoes.
            var words01 = Avx2.PackSignedSaturate(q0, q1);
            var words23 = Avx2.PackSignedSaturate(q2, q3);
            var bytes = Avx2.PackSignedSaturate(words01, words23);
            Avx2.PermuteVar8x32(bytes.AsInt32(), Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7)).AsSByte().Store(c);
        }
    }
}
