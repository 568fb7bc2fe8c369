using System.IO.Hashing;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace ModelBuild.Format.Pack;

/// <summary>
/// Opens a pack memory-mapped (zero-copy): tensors are spans over the mapping. Every range is checked
/// against the file on open; checksums are verified on open unless the caller opts out.
/// </summary>
public sealed unsafe class PackReader : IDisposable
{
    private readonly Action _release;
    private readonly byte* _base;
    private bool _disposed;
    private readonly Dictionary<string, TensorEntry> _byName;

    public string Path { get; }
    public PackHeader Header { get; }
    public PackManifest Manifest { get; }
    public long FileLength { get; }

    private PackReader(string path, Action release, byte* basePtr, long length)
    {
        Path = path;
        _release = release;
        _base = basePtr;
        FileLength = length;
        Header = PackHeader.Read(new ReadOnlySpan<byte>(_base, (int)Math.Min(length, PackHeader.Size)), length, path);
        if (Header.ManifestLength > int.MaxValue) throw new PackFormatException(path, "manifest is too large.");
        try
        {
            Manifest = PackManifest.FromUtf8(new ReadOnlySpan<byte>(_base + Header.ManifestOffset, (int)Header.ManifestLength));
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new PackFormatException(path, $"manifest is not valid JSON ({e.Message}); the pack is corrupt.");
        }
        _byName = new Dictionary<string, TensorEntry>(StringComparer.Ordinal);
        foreach (var t in Manifest.Tensors ?? new())
        {
            if (!_byName.TryAdd(t.Name, t)) throw new PackFormatException(path, $"tensor '{t.Name}' is listed twice.");
            TensorLayout.Validate(t, Header.DataLength, path);
        }
    }

    /// <summary>
    /// Opens <paramref name="path"/> memory-mapped. When verifying (which reads every page) shows a tenth or more of the pack
    /// mapped with 4 KB pages, as a just-copied file is, its cached pages are dropped once and it is mapped again, so
    /// it is read back with 2 MB pages where the filesystem allows (<see cref="LargePages"/>); that costs one read of the
    /// file and speeds up decode by about 6 %.
    /// </summary>
    public static PackReader Open(string path, bool verifyChecksums = true)
    {
        var pack = OpenMapped(path, verifyChecksums);
        if (!verifyChecksums || !LargePages.WorthRereading(pack.LargePageShare, pack.FileLength)) return pack;
        lock (Reread)
            if (!Reread.Add(System.IO.Path.GetFullPath(path))) return pack;
        pack.Dispose();
        LargePages.DropCachedPages(path);
        return OpenMapped(path, verifyChecksums);
    }

    /// <summary>
    /// Reads <paramref name="path"/> into freshly allocated process memory on 2 MB pages instead of mapping it (as
    /// llama.cpp's --no-mmap does). A mapping uses whatever pages the page cache holds the file in, and on a VM those can
    /// be slow: a pack cached for hours read at 0.82× the speed of fresh memory here and decoded 1.23× slower than the
    /// same bytes read into memory (session 19). Costs one read of the file and pack-sized private memory; the pack is
    /// no longer shared with other processes through the page cache.
    /// </summary>
    public static PackReader Read(string path, bool verifyChecksums = true)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"pack not found: {path}", path);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        return ReadStream(path, file, file.Length, verifyChecksums);
    }

    /// <summary>
    /// Reads the first <paramref name="length"/> bytes of <paramref name="stream"/> into native memory on 2 MB pages
    /// and opens them (<see cref="Read"/>); the memory is freed on Dispose, or at once if reading or opening fails.
    /// </summary>
    public static PackReader ReadStream(string name, Stream stream, long length, bool verifyChecksums)
    {
        // A stream shorter than the header is read whole and then refused by PackHeader.Read, as any truncated pack is.
        byte* buffer = (byte*)NativeMemory.AlignedAlloc((nuint)Math.Max(length, 1), LargePages.Size);
        try
        {
            LargePages.Advise(buffer, length);
            for (long read = 0; read < length;)
            {
                int n = stream.Read(new Span<byte>(buffer + read, (int)Math.Min(1 << 30, length - read)));
                if (n == 0) throw new PackFormatException(name, $"the stream ended after {read} of {length} bytes.");
                read += n;
            }
        }
        catch
        {
            NativeMemory.AlignedFree(buffer);
            throw;
        }
        var reader = OpenMemory(name, buffer, length, verifyChecksums, () => NativeMemory.AlignedFree(buffer));
        reader.InProcessMemory = true;
        return reader;
    }

    /// <summary>Whether the pack was read into process memory (<see cref="Read"/>) rather than mapped from its file or used in place.</summary>
    public bool InProcessMemory { get; private set; }

    // Packs read again in this process: where the filesystem cannot give 2 MB pages, once is enough.
    private static readonly HashSet<string> Reread = new(StringComparer.Ordinal);

    /// <summary>Of the pack's resident bytes, the share mapped with 2 MB pages; null off Linux or while most of it is not resident.</summary>
    public double? LargePageShare => LargePages.MappedShare(_base, FileLength);

    private static PackReader OpenMapped(string path, bool verifyChecksums)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"pack not found: {path}", path);
        long length = new FileInfo(path).Length;
        if (length < PackHeader.Size)
            throw new PackFormatException(path, $"file is {length} bytes, shorter than the {PackHeader.Size}-byte header; it is truncated or not a pack.");
        var file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        MemoryMappedViewAccessor? view = null;
        byte* ptr = null;
        try
        {
            view = file.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref ptr);
        }
        catch
        {
            view?.Dispose();
            file.Dispose();
            throw;
        }
        LargePages.Advise(ptr + view.PointerOffset, length);
        // From here OpenMemory owns the mapping: it releases it if opening fails, else the reader does on Dispose.
        var mapped = view;
        return OpenMemory(path, ptr + mapped.PointerOffset, length, verifyChecksums, () =>
        {
            mapped.SafeMemoryMappedViewHandle.ReleasePointer();
            mapped.Dispose();
            file.Dispose();
        });
    }

    public IReadOnlyCollection<TensorEntry> Tensors => _byName.Values;

    public bool HasTensor(string name) => _byName.ContainsKey(name);

    public TensorEntry Tensor(string name) =>
        _byName.TryGetValue(name, out var t) ? t : throw new PackFormatException(Path, $"tensor '{name}' is missing.");

    public ReadOnlySpan<byte> Part(TensorEntry tensor, string part)
    {
        if (!tensor.Parts.TryGetValue(part, out var blob))
            throw new PackFormatException(Path, $"tensor '{tensor.Name}' has no part '{part}'.");
        return new ReadOnlySpan<byte>(_base + Header.DataOffset + blob.Offset, checked((int)blob.Length));
    }

    /// <summary>
    /// A pack already in memory (an embedded resource in a mapped assembly, or a buffer): nothing is copied.
    /// <paramref name="release"/> runs on Dispose (or if opening fails) and frees whatever owns the memory.
    /// </summary>
    public static PackReader OpenMemory(string name, byte* pointer, long length, bool verifyChecksums, Action release)
    {
        try
        {
            return Checked(new PackReader(name, release, pointer, length), verifyChecksums);
        }
        catch
        {
            release();
            throw;
        }
    }

    private static PackReader Checked(PackReader reader, bool verifyChecksums)
    {
        if (verifyChecksums)
        {
            var problems = reader.Verify();
            // OpenMemory's catch releases the memory: the reader is never handed out.
            if (problems.Count > 0)
                throw new PackFormatException(reader.Path, problems[0] + (problems.Count > 1 ? $" (and {problems.Count - 1} more problems)" : ""));
        }
        return reader;
    }

    /// <summary>The data section (Header.DataLength bytes of tensor blobs), for tools that measure how fast it reads.</summary>
    public byte* DataPointer => _base + Header.DataOffset;

    /// <summary>Pointer to a part, for kernels; valid while this reader is alive.</summary>
    public byte* PartPointer(TensorEntry tensor, string part) => _base + Header.DataOffset + tensor.Parts[part].Offset;

    /// <summary>Checks the whole-file hash and every blob's hash; returns one line per problem, naming the tensor.</summary>
    public List<string> Verify()
    {
        var problems = new List<string>();
        var hash = new XxHash3();
        // Spans stop at 2 GB; packs of 1B-parameter models in f16 are larger, so hash in pieces (same digest).
        const int piece = 1 << 30;
        for (long offset = 0; offset < Header.DataLength; offset += piece)
            hash.Append(new ReadOnlySpan<byte>(_base + Header.DataOffset + offset, (int)Math.Min(piece, Header.DataLength - offset)));
        hash.Append(new ReadOnlySpan<byte>(_base + Header.ManifestOffset, (int)Header.ManifestLength));
        foreach (var t in Manifest.Tensors)
            foreach (var (name, blob) in t.Parts)
            {
                var actual = Convert.ToHexString(XxHash3.Hash(Part(t, name))).ToLowerInvariant();
                if (actual != blob.Hash) problems.Add($"tensor '{t.Name}' part '{name}' fails its checksum (expected {blob.Hash}, got {actual}); the pack was modified or corrupted.");
            }
        if (hash.GetCurrentHashAsUInt64() != Header.ContentHash)
            problems.Add("whole-file checksum mismatch; the pack was modified or corrupted.");
        return problems;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _release();
    }
}
