using System.IO.Hashing;

namespace ModelBuild.Format.Pack;

/// <summary>
/// Streams blobs into a temporary file beside the target, then writes the manifest and header and renames
/// it into place. Until <see cref="Commit"/> succeeds the target is untouched; disposing without a commit
/// deletes the temporary file, so a failed compression never leaves a half-written pack.
/// </summary>
public sealed class PackWriter : IDisposable
{
    private readonly string _targetPath;
    private readonly string _tempPath;
    private readonly FileStream _stream;
    private readonly XxHash3 _contentHash = new();
    private readonly List<TensorEntry> _tensors = new();
    private bool _committed;

    public PackWriter(string targetPath)
    {
        _targetPath = Path.GetFullPath(targetPath);
        Directory.CreateDirectory(Path.GetDirectoryName(_targetPath)!);
        _tempPath = $"{_targetPath}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        _stream = new FileStream(_tempPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
        _stream.Write(new byte[PackHeader.Size]);
    }

    private long DataPosition => _stream.Position - PackHeader.Size;

    /// <summary>Appends a 64-byte-aligned blob and returns its reference (offset relative to the data section).</summary>
    public BlobRef AddBlob(ReadOnlySpan<byte> bytes)
    {
        int pad = (int)((PackHeader.Alignment - DataPosition % PackHeader.Alignment) % PackHeader.Alignment);
        if (pad > 0)
        {
            Span<byte> zeros = stackalloc byte[pad];
            zeros.Clear();
            _stream.Write(zeros);
            _contentHash.Append(zeros);
        }
        long offset = DataPosition;
        _stream.Write(bytes);
        _contentHash.Append(bytes);
        return new BlobRef(offset, bytes.Length, Convert.ToHexString(XxHash3.Hash(bytes)).ToLowerInvariant());
    }

    public void AddTensor(TensorEntry entry)
    {
        if (_tensors.Any(t => t.Name == entry.Name)) throw new InvalidOperationException($"tensor '{entry.Name}' added twice.");
        _tensors.Add(entry);
    }

    /// <summary>Writes manifest and header, flushes to disk and atomically renames into place.</summary>
    public void Commit(PackManifest manifest)
    {
        var full = manifest with { Tensors = _tensors };
        long dataLength = DataPosition;
        var manifestBytes = full.ToUtf8();
        long manifestOffset = _stream.Position;
        _stream.Write(manifestBytes);
        _contentHash.Append(manifestBytes);
        var header = new byte[PackHeader.Size];
        new PackHeader(PackManifest.CurrentFormatVersion, PackHeader.Size, dataLength, manifestOffset, manifestBytes.Length, _contentHash.GetCurrentHashAsUInt64()).WriteTo(header);
        _stream.Position = 0;
        _stream.Write(header);
        _stream.Flush(flushToDisk: true);
        _stream.Dispose();
        File.Move(_tempPath, _targetPath, overwrite: true);
        _committed = true;
    }

    public void Dispose()
    {
        _stream.Dispose();
        if (!_committed)
            try { File.Delete(_tempPath); } catch (IOException) { }
    }
}
