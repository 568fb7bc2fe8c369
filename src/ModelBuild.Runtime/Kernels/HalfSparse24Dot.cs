using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelBuild.Runtime.Kernels;

/// <summary>
/// Dot product of a 2:4-packed f16 row (144 bytes per 128 columns, Format.Pack.Sparse24Layout) with float32
/// activations: per 32 columns, 16 kept values converted in registers (<see cref="HalfDot.ToSingle(Vector256{ushort})"/>)
/// and the 16 activations they multiply gathered from two registers with one vpermi2ps. Half the conversions and
/// FMAs of <see cref="HalfDot"/> for 9/16 of the bytes.
/// </summary>
public static unsafe class HalfSparse24Dot
{
    public static float Avx512(byte* row, float* x, int cols)
    {
        var acc0 = Vector512<float>.Zero;
        var acc1 = Vector512<float>.Zero;
        for (int c = 0; c < cols; c += 128, row += Format.Pack.Sparse24Layout.HalfChunkBytes, x += 128)
        {
            StreamPrefetch.Ahead(row);
            StreamPrefetch.Ahead(row + 64);
            StreamPrefetch.Ahead(row + 128);
            // Byte k: kept value k's column; value k's quad lies in 32-column block k/16, and vpermi2ps reads the
            // column's low 5 bits (its place in that block).
            var columns = Sparse24Columns.Unpack(row + Format.Pack.Sparse24Layout.HalfValueBytes);
            acc0 = Avx512F.FusedMultiplyAdd(Values(row, 0), Gather(x, columns.GetLower().GetLower()), acc0);
            acc1 = Avx512F.FusedMultiplyAdd(Values(row, 1), Gather(x + 32, columns.GetLower().GetUpper()), acc1);
            acc0 = Avx512F.FusedMultiplyAdd(Values(row, 2), Gather(x + 64, columns.GetUpper().GetLower()), acc0);
            acc1 = Avx512F.FusedMultiplyAdd(Values(row, 3), Gather(x + 96, columns.GetUpper().GetUpper()), acc1);
        }
        return Vector512.Sum(acc0 + acc1);
    }

    private static Vector512<float> Values(byte* chunk, int block) => HalfDot.ToSingle(Vector256.Load((ushort*)chunk + 16 * block));

    private static Vector512<float> Gather(float* block, Vector128<byte> columns) =>
        Avx512F.PermuteVar16x32x2(Vector512.Load(block), Avx512F.ConvertToVector512Int32(columns), Vector512.Load(block + 16));
}
