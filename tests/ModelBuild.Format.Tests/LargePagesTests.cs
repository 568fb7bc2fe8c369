using ModelBuild.Format.Pack;
using ModelBuild.Tests;

namespace ModelBuild.Format.Tests;

public class LargePagesTests
{
    private static readonly string[] Smaps =
    [
        "55d0c0000000-55d0c0021000 r--p 00000000 fe:01 123 /usr/bin/dotnet",
        "Rss:                 132 kB",
        "FilePmdMapped:         0 kB",
        "7f1b58800000-7f1b80b56000 r--s 00000000 fe:01 456 /work/x.mbpack",
        "Size:             658776 kB",
        "Rss:              658776 kB",
        "Pss:              658776 kB",
        "FilePmdMapped:    610304 kB",
        "VmFlags: rd sh mr mw me ms hg",
        "7f1b80c00000-7f1b80c01000 rw-p 00000000 00:00 0",
        "Rss:                   4 kB",
        "FilePmdMapped:         0 kB",
    ];

    [Fact]
    public void The_share_is_read_from_the_mapping_that_holds_the_address()
    {
        double? share = LargePages.MappedShare(Smaps, 0x7f1b58800000 + 12345, 658776L * 1024);
        Assert.NotNull(share);
        Assert.Equal(610304.0 / 658776, share!.Value, 9);
        // The mappings before and after are not confused with it.
        Assert.Equal(0, LargePages.MappedShare(Smaps, 0x55d0c0000010, 132 * 1024));
        Assert.Equal(0, LargePages.MappedShare(Smaps, 0x7f1b80c00000, 4096));
    }

    [Fact]
    public void No_share_when_the_pack_is_mostly_not_resident_or_the_kernel_does_not_say()
    {
        Assert.Null(LargePages.MappedShare(Smaps, 0x7f1b58800000, 658776L * 1024 * 3)); // a third resident
        Assert.Null(LargePages.MappedShare(Smaps, 0x1000, 4096));                     // no mapping holds it
        Assert.Null(LargePages.MappedShare(Smaps.Where(l => !l.StartsWith("FilePmdMapped", StringComparison.Ordinal)), 0x7f1b58800000, 4096));
    }

    [Theory]
    [InlineData(0.1, 100L << 20, true)]
    [InlineData(0.89, 64L << 20, true)]    // a fifth on small pages still costs (79 %: 1.096× slower decode)
    [InlineData(0.9, 100L << 20, false)]   // already nearly all on 2 MB pages
    [InlineData(0.1, 63L << 20, false)]    // too small to matter
    [InlineData(null, 100L << 20, false)]  // unknown (not Linux, not resident)
    public void Only_big_packs_not_nearly_all_on_large_pages_are_read_again(double? share, long length, bool expected) =>
        Assert.Equal(expected, LargePages.WorthRereading(share, length));

    /// <summary>
    /// A just-copied pack (as a build copies it to the output folder) sits in the page cache on 4 KB pages; opening it
    /// drops those and maps it again, so it ends up on 2 MB pages. Where the copy already has large pages, or the
    /// filesystem cannot give them (the controls below), there is nothing to check.
    /// </summary>
    [Fact]
    public void Opening_a_just_copied_pack_maps_it_with_large_pages_where_the_filesystem_allows()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var dir = new RepoPaths.TempDir();
        string original = WritePack(dir.File("original.mbpack")), packPath = dir.File("a.mbpack"), controlPath = dir.File("b.mbpack");
        File.Copy(original, packPath);
        File.Copy(original, controlPath);

        // Control: the same kind of copy, mapped without reading it again, is on small pages...
        using (var control = PackReader.Open(controlPath, verifyChecksums: false))
        {
            Assert.Empty(control.Verify());
            if (control.LargePageShare is not < 0.9) return;
        }
        // ...and after its cached pages are dropped, it can (or cannot) come back on large pages.
        LargePages.DropCachedPages(controlPath);
        double? capable;
        using (var control = PackReader.Open(controlPath, verifyChecksums: false))
        {
            Assert.Empty(control.Verify());
            capable = control.LargePageShare;
        }
        if (capable is not >= 0.9) return;

        using var pack = PackReader.Open(packPath);
        Assert.True(pack.LargePageShare >= 0.9, $"opened on {pack.LargePageShare:P0} 2 MB pages");
    }

    /// <summary>A pack read into process memory (--no-mmap) sits on 2 MB pages wherever the kernel gives them on request.</summary>
    [Fact]
    public void A_pack_read_into_memory_sits_on_large_pages_where_the_kernel_gives_them()
    {
        const string setting = "/sys/kernel/mm/transparent_hugepage/enabled";
        if (!OperatingSystem.IsLinux() || !File.Exists(setting) || File.ReadAllText(setting).Contains("[never]")) return;
        using var dir = new RepoPaths.TempDir();
        using var pack = PackReader.Read(WritePack(dir.File("a.mbpack")));
        Assert.Empty(pack.Verify());
        Assert.True(pack.InProcessMemory);
        Assert.True(pack.LargePageShare >= 0.9, $"read onto {pack.LargePageShare:P0} 2 MB pages");
    }

    private static string WritePack(string path)
    {
        var data = new byte[96 << 20];
        new Random(1).NextBytes(data);
        using var w = new PackWriter(path);
        w.AddTensor(new TensorEntry { Name = "w", Format = TensorLayout.F32, Shape = [data.Length / 4], Parts = new() { ["data"] = w.AddBlob(data) } });
        w.Commit(new PackManifest { ToolVersion = "test", ConfigJson = "{}", TokenizerJson = "{}", Tensors = new() });
        return path;
    }
}
