using System.Buffers.Binary;
using System.Text.Json;

namespace ModelBuild.Compression.Ingestion;

/// <summary>One tensor's entry in a safetensors header.</summary>
public sealed record SafetensorsEntry(string Name, TensorDType DType, long[] Shape, long Begin, long End)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// Reads one .safetensors file: an 8-byte little-endian header length, a JSON header, then raw data.
/// Every offset and size is checked against the file before anything is allocated.
/// </summary>
public sealed class SafetensorsFile
{
    private const long MaxHeaderBytes = 100_000_000;

    public string Path { get; }
    public IReadOnlyDictionary<string, SafetensorsEntry> Entries { get; }
    private readonly long _dataStart;

    private SafetensorsFile(string path, Dictionary<string, SafetensorsEntry> entries, long dataStart)
    {
        Path = path;
        Entries = entries;
        _dataStart = dataStart;
    }

    public static SafetensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"safetensors file not found: {path}", path);
        using var fs = File.OpenRead(path);
        long fileLength = fs.Length;
        Span<byte> lenBytes = stackalloc byte[8];
        if (fs.ReadAtLeast(lenBytes, 8, throwOnEndOfStream: false) < 8)
            throw new InvalidDataException($"{path}: truncated safetensors file (shorter than its 8-byte header length).");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
        if (headerLength > MaxHeaderBytes || (long)headerLength > fileLength - 8)
            throw new InvalidDataException($"{path}: header length {headerLength} exceeds the file ({fileLength} bytes); the file is truncated or not safetensors.");
        var header = new byte[headerLength];
        fs.ReadExactly(header);
        long dataStart = 8 + (long)headerLength;
        long dataLength = fileLength - dataStart;

        // JsonDocument accepts invalid UTF-8 inside strings and only fails when a string is read; found by fuzzing.
        if (!System.Text.Unicode.Utf8.IsValid(header))
            throw new InvalidDataException($"{path}: safetensors header is not valid UTF-8; the file is corrupt.");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(header); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: safetensors header is not valid JSON: {e.Message}", e); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{path}: safetensors header must be a JSON object.");
            var entries = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__") continue;
                entries[prop.Name] = ParseEntry(path, prop, dataLength);
            }
            CheckNoOverlap(path, entries.Values);
            return new SafetensorsFile(path, entries, dataStart);
        }
    }

    private static SafetensorsEntry ParseEntry(string path, JsonProperty prop, long dataLength)
    {
        var e = prop.Value;
        string where = $"{path}: tensor '{prop.Name}'";
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("dtype", out var dt) || !e.TryGetProperty("shape", out var sh) || !e.TryGetProperty("data_offsets", out var off))
            throw new InvalidDataException($"{where}: entry needs dtype, shape and data_offsets.");
        if (dt.ValueKind != JsonValueKind.String || !TensorDTypes.TryParseSafetensors(dt.GetString()!, out var dtype))
            throw new InvalidDataException($"{where}: dtype {dt} is not supported (supported: F32, F16, BF16).");
        if (sh.ValueKind != JsonValueKind.Array || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw new InvalidDataException($"{where}: shape must be an array and data_offsets a pair.");
        var shape = new long[sh.GetArrayLength()];
        int i = 0;
        long count = 1;
        foreach (var d in sh.EnumerateArray())
        {
            if (!d.TryGetInt64(out long v) || v < 0) throw new InvalidDataException($"{where}: shape has an invalid dimension {d}.");
            shape[i++] = v;
            count = count > 0 && v > long.MaxValue / Math.Max(1, count) ? throw new InvalidDataException($"{where}: shape is too large.") : count * v;
        }
        if (!off[0].TryGetInt64(out long begin) || !off[1].TryGetInt64(out long end) || begin < 0 || end < begin || end > dataLength)
            throw new InvalidDataException($"{where}: data_offsets [{off[0]}, {off[1]}] fall outside the data section ({dataLength} bytes); the file is truncated or corrupt.");
        if (end - begin != count * dtype.ByteSize())
            throw new InvalidDataException($"{where}: shape [{string.Join(",", shape)}] of {dtype} needs {count * dtype.ByteSize()} bytes but data_offsets span {end - begin}.");
        return new SafetensorsEntry(prop.Name, dtype, shape, begin, end);
    }

    private static void CheckNoOverlap(string path, IEnumerable<SafetensorsEntry> entries)
    {
        SafetensorsEntry? previous = null;
        foreach (var e in entries.Where(e => e.End > e.Begin).OrderBy(e => e.Begin))
        {
            if (previous is not null && e.Begin < previous.End)
                throw new InvalidDataException($"{path}: tensors '{previous.Name}' and '{e.Name}' overlap.");
            previous = e;
        }
    }

    /// <summary>Reads a tensor as float32; rejects NaN/Inf unless allowed.</summary>
    public float[] ReadFloat(string name, bool allowNonFinite = false)
    {
        if (!Entries.TryGetValue(name, out var e)) throw new KeyNotFoundException($"{Path}: no tensor named '{name}'.");
        var raw = new byte[e.End - e.Begin];
        using (var fs = File.OpenRead(Path))
        {
            fs.Position = _dataStart + e.Begin;
            fs.ReadExactly(raw);
        }
        var result = new float[e.ElementCount];
        TensorDTypes.ToFloat(e.DType, raw, result);
        if (!allowNonFinite)
            for (int i = 0; i < result.Length; i++)
                if (!float.IsFinite(result[i]))
                    throw new InvalidDataException($"{Path}: tensor '{name}' holds a non-finite value ({result[i]}) at element {i}.");
        return result;
    }
}
