using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelBuild.Runtime.Kernels;

/// <summary>
/// The input rows of one matrix multiply ([Tokens, Cols] floats), plus an int8 copy made on first use by a
/// SIMD kernel: per block of 32 values a scale and the rounded codes. The scale is max|x| / 127 rounded up to a whole
/// multiple (at most <see cref="MaxMultiplier"/>) of the token's unit, max over the token of |x| / (127 · MaxMultiplier),
/// so the AVX-512 kernels can weight each block by an integer and apply one float per row (relative to max|x| / 127,
/// a block's scale grows by less than one unit: under 0.1 % for blocks within a thirtieth of the token's largest). The int4 kernels read the
/// codes in "nibble order": within each 128-column chunk, the 64 even columns first, then the 64 odd ones,
/// matching how two 4-bit weights share a byte (low nibble = even column). The 2:4 kernel gathers from the natural order.
/// </summary>
public sealed class ActivationBatch
{
    public const int BlockSize = 32;

    /// <summary>The largest block multiplier: a 16-bit lane of byte products (at most 4 · 15 · 127) times it, twice, fits 32 bits.</summary>
    public const int MaxMultiplier = short.MaxValue;

    private bool _quantized;
    private readonly short[] _blockMultipliers;

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
    /// <summary>
    /// Per token, per 128-column chunk, 32 lanes: the block multiplier of the 4 columns a 16-bit lane of byte products
    /// covers in nibble order (columns 4j .. 4j+3; block scale = multiplier · token unit).
    /// </summary>
    public AlignedBuffer<short> NibbleLaneMultipliers { get; }
    /// <summary>Per token: the unit its block scales are whole multiples of.</summary>
    public AlignedBuffer<float> TokenUnits { get; }

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
        NibbleLaneMultipliers = new(cols % 128 == 0 ? maxTokens * cols / 4 : 0);
        TokenUnits = new(maxTokens);
        _blockMultipliers = new short[blocked ? maxTokens * cols / BlockSize : 0];
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
        {
            float unit = TokenUnits[t] = TokenUnit(Values.AsSpan(t * Cols, Cols));
            for (int b = 0; b < blocks; b++)
                QuantizeBlock(Values.AsSpan(t * Cols + b * BlockSize, BlockSize), Codes.Span.Slice(t * Cols + b * BlockSize, BlockSize), unit,
                    out BlockScales[t * blocks + b], out _blockMultipliers[t * blocks + b], out BlockSums[t * blocks + b]);
        }
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
                // Lane j of a 128-column chunk covers columns 8j .. 8j+7, all inside block (8j)/32; a 16-bit lane 4j .. 4j+3.
                for (int lane = 0; lane < 16; lane++)
                    NibbleLaneScales[t * (Cols / 8) + chunk / 8 + lane] = BlockScales[t * blocks + (chunk + 8 * lane) / BlockSize];
                for (int lane = 0; lane < 32; lane++)
                    NibbleLaneMultipliers[t * (Cols / 4) + chunk / 4 + lane] = _blockMultipliers[t * blocks + (chunk + 4 * lane) / BlockSize];
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
        short* laneMultipliers = NibbleLaneMultipliers.Pointer;
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
                    Vector128.Create(_blockMultipliers[t * blocks + chunk / BlockSize + k]).Store(laneMultipliers + t * (Cols / 4) + chunk / 4 + 8 * k);
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
        short* laneMultipliers = NibbleLaneMultipliers.Pointer;
        fixed (float* values = Values)
            for (int t = 0; t < Tokens; t++)
            {
                float unit = TokenUnits[t] = TokenUnit(Values.AsSpan(t * Cols, Cols));
                for (int chunk = 0; chunk < Cols; chunk += 128)
                {
                    long at = (long)t * Cols + chunk;
                    for (int k = 0; k < 4; k++)
                    {
                        // Block k of the chunk: columns 32k .. 32k+31 in two vectors.
                        var v0 = Vector512.Load(values + at + 32 * k);
                        var v1 = Vector512.Load(values + at + 32 * k + 16);
                        short multiplier = Multiplier(MaxOf(Vector512.Max(Vector512.Abs(v0), Vector512.Abs(v1))), unit);
                        float scale = unit * multiplier;
                        var inverse = Vector512.Create(multiplier > 0 ? 1f / scale : 0f);
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
                        Vector128.Create(multiplier).Store(laneMultipliers + t * (Cols / 4) + chunk / 4 + 8 * k);
                    }
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

    /// <summary>
    /// The unit of a token's block scales: max|x| / 127 / <see cref="MaxMultiplier"/> (0 for an all-zero token; NaN for a
    /// token holding a NaN, so every scale and product of it is NaN rather than a silent finite value).
    /// </summary>
    public static float TokenUnit(ReadOnlySpan<float> row)
    {
        float max = MathF.Abs(TensorPrimitives.MaxMagnitude(row));
        return max == 0 ? 0f : max / 127f / MaxMultiplier;
    }

    /// <summary>
    /// A block's scale in units: ⌈max|x| / 127 / unit⌉, at most <see cref="MaxMultiplier"/> (the token's largest block,
    /// up to rounding); 0 for an all-zero block.
    /// </summary>
    public static short Multiplier(float blockMax, float unit) =>
        blockMax > 0 && unit > 0 ? (short)Math.Clamp(MathF.Ceiling(blockMax / 127f / unit), 1f, MaxMultiplier) : (short)0;

    /// <summary>
    /// Symmetric int8 in the token's <paramref name="unit"/>: scale = <see cref="Multiplier"/> · unit, code =
    /// round-half-even(x / scale) (|code| ≤ 127, as scale ≥ max|x| / 127 up to rounding); also Σ code · scale.
    /// </summary>
    public static void QuantizeBlock(ReadOnlySpan<float> x, Span<sbyte> codes, float unit, out float scale, out short multiplier, out float sum)
    {
        if (Avx2.IsSupported && x.Length == BlockSize)
        {
            QuantizeBlockAvx2(x, codes, unit, out scale, out multiplier, out sum);
            return;
        }
        float max = 0;
        foreach (float v in x) max = MathF.Max(max, MathF.Abs(v));
        multiplier = Multiplier(max, unit);
        scale = unit * multiplier;
        float inverse = multiplier > 0 ? 1f / scale : 0f;
        int total = 0;
        for (int i = 0; i < x.Length; i++)
        {
            int q = Math.Clamp((int)MathF.Round(x[i] * inverse), -127, 127);
            codes[i] = (sbyte)q;
            total += q;
        }
        sum = total * scale;
    }

    /// <summary>The same arithmetic on four 8-float vectors (cvtps2dq rounds half to even, as MathF.Round does).</summary>
    private static unsafe void QuantizeBlockAvx2(ReadOnlySpan<float> x, Span<sbyte> codes, float unit, out float scale, out short multiplier, out float sum)
    {
        fixed (float* p = x)
        fixed (sbyte* c = codes)
        {
            var v0 = Vector256.Load(p); var v1 = Vector256.Load(p + 8); var v2 = Vector256.Load(p + 16); var v3 = Vector256.Load(p + 24);
            var max = Vector256.Max(Vector256.Max(Vector256.Abs(v0), Vector256.Abs(v1)), Vector256.Max(Vector256.Abs(v2), Vector256.Abs(v3)));
            multiplier = Multiplier(MaxOf(Vector128.Max(max.GetLower(), max.GetUpper())), unit);
            scale = unit * multiplier;
            var inverse = Vector256.Create(multiplier > 0 ? 1f / scale : 0f);
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
