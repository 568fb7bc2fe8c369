using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelBuild.Runtime.Kernels;

/// <summary>
/// f16 → f32 for runs of values (decode's per-tile scales, f16 rows dequantized for prefill tiles), with
/// <see cref="HalfDot"/>'s in-register conversion: TensorPrimitives' general one took about 3.5× as long per 256
/// scales here.
/// </summary>
internal static unsafe class HalfToSingle
{
    public static void Convert(Half* source, float* destination, int count)
    {
        int i = 0;
        if (Avx512F.IsSupported)
            for (; i + 16 <= count; i += 16)
                HalfDot.ToSingle(Vector256.Load((ushort*)(source + i))).Store(destination + i);
        if (i < count) TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(source + i, count - i), new Span<float>(destination + i, count - i));
    }
}
