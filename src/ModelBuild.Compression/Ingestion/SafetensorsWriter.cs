using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;

namespace ModelBuild.Compression.Ingestion;

/// <summary>Writes float32 tensors to a .safetensors file in a chosen dtype (atomically: temp file + rename).</summary>
public static class SafetensorsWriter
{
    public static void Write(string path, IEnumerable<(string Name, long[] Shape, float[] Data)> tensors, TensorDType dtype)
    {
        var list = tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        var header = new JsonObject();
        long offset = 0;
        foreach (var (name, shape, data) in list)
        {
            long bytes = (long)data.Length * dtype.ByteSize();
            header[name] = new JsonObject
            {
                ["dtype"] = dtype.SafetensorsName(),
                ["shape"] = new JsonArray(shape.Select(s => (JsonNode)s).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }
        var headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (headerBytes.Length + 7) / 8 * 8; // spec: header padded with spaces to 8 bytes
        string temp = path + ".tmp";
        using (var fs = File.Create(temp))
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded);
            fs.Write(len);
            fs.Write(headerBytes);
            for (int i = headerBytes.Length; i < padded; i++) fs.WriteByte((byte)' ');
            foreach (var (_, _, data) in list) fs.Write(Encode(data, dtype));
        }
        File.Move(temp, path, overwrite: true);
    }

    private static byte[] Encode(float[] data, TensorDType dtype)
    {
        switch (dtype)
        {
            case TensorDType.F32:
                return MemoryMarshal.AsBytes(data.AsSpan()).ToArray();
            case TensorDType.F16:
                var h = new Half[data.Length];
                for (int i = 0; i < data.Length; i++) h[i] = (Half)data[i];
                return MemoryMarshal.AsBytes(h.AsSpan()).ToArray();
            default:
                var b = new ushort[data.Length];
                for (int i = 0; i < data.Length; i++) b[i] = Format.Pack.BFloat16Bits.FromSingle(data[i]);
                return MemoryMarshal.AsBytes(b.AsSpan()).ToArray();
        }
    }
}
