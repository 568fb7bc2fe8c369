namespace ModelBuild.Compression.Ingestion;

/// <summary>Element types a checkpoint may hold that we ingest.</summary>
public enum TensorDType { F32, F16, BF16 }

public static class TensorDTypes
{
    public static int ByteSize(this TensorDType t) => t == TensorDType.F32 ? 4 : 2;

    public static string SafetensorsName(this TensorDType t) => t switch
    {
        TensorDType.F32 => "F32",
        TensorDType.F16 => "F16",
        _ => "BF16",
    };

    public static bool TryParseSafetensors(string name, out TensorDType t)
    {
        switch (name)
        {
            case "F32": t = TensorDType.F32; return true;
            case "F16": t = TensorDType.F16; return true;
            case "BF16": t = TensorDType.BF16; return true;
            default: t = default; return false;
        }
    }

    /// <summary>Converts little-endian raw elements to float32.</summary>
    public static void ToFloat(TensorDType t, ReadOnlySpan<byte> raw, Span<float> dst)
    {
        switch (t)
        {
            case TensorDType.F32:
                System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(raw).CopyTo(dst);
                break;
            case TensorDType.F16:
                var halves = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(raw);
                for (int i = 0; i < dst.Length; i++) dst[i] = (float)halves[i];
                break;
            default:
                var bits = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(raw);
                for (int i = 0; i < dst.Length; i++) dst[i] = Format.Pack.BFloat16Bits.ToSingle(bits[i]);
                break;
        }
    }
}
