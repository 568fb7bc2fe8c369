using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelBuild.Runtime.Kernels;

/// <summary>
/// f16 → f32 for the short runs decode converts per row tile (scales). A finite half's magnitude bits shifted up by 13
/// are a float whose value is the half's times 2⁻¹¹², so one multiply by 2¹¹² rescales it exactly, subnormals and
/// zero included; the sign bit moves up by 16. TensorPrimitives' general conversion took about 3.5× as long per
/// 256 scales here. Vectors holding an infinity or NaN (never in a valid pack) take the general path.
/// </summary>
internal static unsafe class HalfToSingle
{
    public static void Convert(Half* source, float* destination, int count)
    {
        int i = 0;
        if (Avx512F.IsSupported)
        {
            var magnitude = Vector512.Create(0x7FFF);
            var signBit = Vector512.Create(0x8000);
            var rescale = Vector512.Create(0x77800000).AsSingle(); // 2¹¹²
            for (; i + 16 <= count; i += 16)
            {
                var bits = Avx512F.ConvertToVector512Int32(Vector256.Load((ushort*)(source + i)));
                var abs = bits & magnitude;
                if (Vector512.GreaterThanOrEqualAny(abs, Vector512.Create(0x7C00)))
                {
                    TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(source + i, 16), new Span<float>(destination + i, 16));
                    continue;
                }
                var value = Vector512.ShiftLeft(abs, 13).AsSingle() * rescale;
                (value.AsInt32() | Vector512.ShiftLeft(bits & signBit, 16)).AsSingle().Store(destination + i);
            }
        }
        if (i < count) TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(source + i, count - i), new Span<float>(destination + i, count - i));
    }
}
