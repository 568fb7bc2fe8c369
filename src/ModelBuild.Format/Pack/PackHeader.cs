using System.Buffers.Binary;

namespace ModelBuild.Format.Pack;

/// <summary>
/// The fixed 64-byte header at offset 0. Layout (little endian): magic "MBPACK\0\1" (8), format version u32,
/// reserved u32, data offset u64, data length u64, manifest offset u64, manifest length u64,
/// XxHash3 of data + manifest u64, reserved u64. Data starts at 64; the manifest follows the data so packs
/// can be written in one streaming pass.
/// </summary>
public readonly record struct PackHeader(int Version, long DataOffset, long DataLength, long ManifestOffset, long ManifestLength, ulong ContentHash)
{
    public const int Size = 64;
    public const int Alignment = 64;
    public static ReadOnlySpan<byte> Magic => "MBPACK\0\u0001"u8;

    public void WriteTo(Span<byte> dst)
    {
        dst[..Size].Clear();
        Magic.CopyTo(dst);
        BinaryPrimitives.WriteInt32LittleEndian(dst[8..], Version);
        BinaryPrimitives.WriteInt64LittleEndian(dst[16..], DataOffset);
        BinaryPrimitives.WriteInt64LittleEndian(dst[24..], DataLength);
        BinaryPrimitives.WriteInt64LittleEndian(dst[32..], ManifestOffset);
        BinaryPrimitives.WriteInt64LittleEndian(dst[40..], ManifestLength);
        BinaryPrimitives.WriteUInt64LittleEndian(dst[48..], ContentHash);
    }

    /// <summary>Parses and checks the header against the file length; throws <see cref="PackFormatException"/>.</summary>
    public static PackHeader Read(ReadOnlySpan<byte> src, long fileLength, string path)
    {
        if (fileLength < Size || src.Length < Size)
            throw new PackFormatException(path, $"file is {fileLength} bytes, shorter than the {Size}-byte header; it is truncated or not a pack.");
        if (!src[..8].SequenceEqual(Magic))
            throw new PackFormatException(path, "not a ModelBuild pack (bad magic bytes).");
        // Reserved fields are written as zeros; anything else is corruption (no header byte goes unchecked).
        if (src[12..16].IndexOfAnyExcept((byte)0) >= 0 || src[56..64].IndexOfAnyExcept((byte)0) >= 0)
            throw new PackFormatException(path, "reserved header bytes are not zero; the pack is corrupt or was modified.");
        var h = new PackHeader(
            BinaryPrimitives.ReadInt32LittleEndian(src[8..]),
            BinaryPrimitives.ReadInt64LittleEndian(src[16..]),
            BinaryPrimitives.ReadInt64LittleEndian(src[24..]),
            BinaryPrimitives.ReadInt64LittleEndian(src[32..]),
            BinaryPrimitives.ReadInt64LittleEndian(src[40..]),
            BinaryPrimitives.ReadUInt64LittleEndian(src[48..]));
        if (h.Version != PackManifest.CurrentFormatVersion)
            throw new PackFormatException(path, $"pack format version {h.Version} is not supported by this runtime (supports {PackManifest.CurrentFormatVersion}); recompress the model with this ModelBuild version.");
        // The layout is exact: data from byte 64, the manifest right after it, and nothing after the manifest.
        if (h.DataOffset != Size || h.DataLength < 0 || h.ManifestLength <= 0 || h.ManifestOffset != h.DataOffset + h.DataLength
            || h.ManifestOffset > fileLength || h.ManifestLength != fileLength - h.ManifestOffset)
            throw new PackFormatException(path, $"header ranges (data {h.DataOffset}+{h.DataLength}, manifest {h.ManifestOffset}+{h.ManifestLength}) do not fit the file ({fileLength} bytes); the pack is truncated or corrupt.");
        return h;
    }
}
