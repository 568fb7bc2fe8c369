using System.Buffers.Binary;
using System.Text;

namespace ModelBuild.Compression.Torch;

/// <summary>
/// Marks selected version requirements (Vernaux entries in .gnu.version_r) of an ELF64 little-endian
/// shared library as weak, so the dynamic loader accepts the library when the named version is missing.
/// Why: libLibTorchSharp.so requires GLIBCXX_3.4.32 only for a marker symbol; Debian 12's libstdc++ lacks it.
/// </summary>
public static class ElfVersionPatcher
{
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlagWeak = 0x2;

    /// <summary>Returns how many entries were marked weak (0 if none matched or all were weak already).</summary>
    public static int MarkVersionsWeak(byte[] elf, ISet<string> versionNames)
    {
        int patched = 0;
        foreach (var (flagsOffset, name) in VersionRequirements(elf))
        {
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(flagsOffset));
            if (!versionNames.Contains(name) || (flags & VerFlagWeak) != 0) continue;
            BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(flagsOffset), (ushort)(flags | VerFlagWeak));
            patched++;
        }
        return patched;
    }

    /// <summary>Every version name the library requires, and whether it is weak.</summary>
    public static IReadOnlyList<(string Name, bool Weak)> ListRequiredVersions(byte[] elf) =>
        VersionRequirements(elf)
            .Select(r => (r.Name, (BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(r.FlagsOffset)) & VerFlagWeak) != 0))
            .ToList();

    /// <summary>Walks Verneed -> Vernaux chains; yields the file offset of each vna_flags and the version name.</summary>
    private static List<(int FlagsOffset, string Name)> VersionRequirements(byte[] elf)
    {
        var span = elf.AsSpan();
        if (span.Length < 64 || span[0] != 0x7f || span[1] != (byte)'E' || span[2] != (byte)'L' || span[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (span[4] != 2 || span[5] != 1)
            throw new InvalidDataException("only 64-bit little-endian ELF is supported");

        ulong shoff = BinaryPrimitives.ReadUInt64LittleEndian(span[0x28..]);
        ushort shentsize = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3A..]);
        ushort shnum = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3C..]);
        if (shoff == 0 || shentsize < 64 || shoff + (ulong)shentsize * shnum > (ulong)span.Length)
            throw new InvalidDataException("ELF section header table is out of range");
        ReadOnlySpan<byte> Section(int index) => elf.AsSpan(checked((int)shoff + index * shentsize), 64);

        var result = new List<(int, string)>();
        for (int s = 0; s < shnum; s++)
        {
            var sh = Section(s);
            if (BinaryPrimitives.ReadUInt32LittleEndian(sh[4..]) != ShtGnuVerneed) continue;
            int need = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(sh[0x18..]));
            uint count = BinaryPrimitives.ReadUInt32LittleEndian(sh[0x2C..]); // sh_info = number of Verneed entries
            int strings = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(Section((int)BinaryPrimitives.ReadUInt32LittleEndian(sh[0x28..]))[0x18..]));
            for (uint n = 0; n < count; n++)
            {
                ushort auxCount = BinaryPrimitives.ReadUInt16LittleEndian(span[(need + 2)..]);
                int aux = need + (int)BinaryPrimitives.ReadUInt32LittleEndian(span[(need + 8)..]);
                for (int a = 0; a < auxCount; a++)
                {
                    var name = ReadCString(span, strings + (int)BinaryPrimitives.ReadUInt32LittleEndian(span[(aux + 8)..]));
                    result.Add((aux + 4, name));
                    aux += (int)BinaryPrimitives.ReadUInt32LittleEndian(span[(aux + 12)..]);
                }
                uint next = BinaryPrimitives.ReadUInt32LittleEndian(span[(need + 12)..]);
                if (next == 0) break;
                need += (int)next;
            }
        }
        return result;
    }

    private static string ReadCString(ReadOnlySpan<byte> span, int offset)
    {
        var rest = span[offset..];
        int end = rest.IndexOf((byte)0);
        return Encoding.ASCII.GetString(end < 0 ? rest : rest[..end]);
    }
}
