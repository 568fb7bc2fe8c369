using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelBuild.Runtime.Llama;

/// <summary>
/// How a KV cache stores its values (<see cref="AttentionWork{T, TElement}"/>): the element type, the rounding on the way in
/// and the widening to f32 on the way out. A struct type argument, so the JIT compiles attention once per format with
/// its loads inlined.
/// </summary>
internal unsafe interface IKvElement<T> where T : unmanaged
{
    static abstract T From(float value);

    static abstract float ToSingle(T value);

    /// <summary>Eight consecutive elements as f32.</summary>
    static abstract Vector256<float> Load8(T* source);

    /// <summary>Sixteen consecutive elements as f32 (called only where 512-bit vectors are hardware-accelerated).</summary>
    static abstract Vector512<float> Load16(T* source);
}

/// <summary>f32 elements, stored as computed: the scalar path's cache, which the reference comparisons hold to 2e-3.</summary>
internal readonly struct SingleKv : IKvElement<float>
{
    public static float From(float value) => value;

    public static float ToSingle(float value) => value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector256<float> Load8(float* source) => Vector256.Load(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector512<float> Load16(float* source) => Vector512.Load(source);
}

/// <summary>
/// bf16 elements (the upper half of an f32, rounded to nearest even): half the bytes that decode at depth reads per
/// position, widened with a zero-extension and a shift. The SIMD paths, which already round activations to int8,
/// keep their cache so; on the fixture (int4 g128, AVX-512) perplexity moved from 50.705 to 50.711, as with an f16
/// cache, whose widening .NET would have to do in about six integer operations instead of two (no F16C intrinsics).
/// </summary>
internal readonly struct BFloat16Kv : IKvElement<ushort>
{
    public static ushort From(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)(bits >> 16 | 0x40); // stays a NaN (rounding could carry it into infinity)
        return (ushort)((bits + 0x7FFF + (bits >> 16 & 1)) >> 16);
    }

    public static float ToSingle(ushort value) => BitConverter.UInt32BitsToSingle((uint)value << 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector256<float> Load8(ushort* source) =>
        Avx2.IsSupported
            ? Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(source), 16).AsSingle()
            : Vector256.ShiftLeft(Vector256.Create(Vector128.WidenLower(Vector128.Load(source)), Vector128.WidenUpper(Vector128.Load(source))), 16).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector512<float> Load16(ushort* source) =>
        Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512UInt32(Vector256.Load(source)), 16).AsSingle();
}
