using ModelBuild.Compression.Torch;
using static TorchSharp.torch;

namespace ModelBuild.Compression.Tests;

public class TorchSharpLoaderTests
{
    private static string StockLibrary()
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native");
        return Path.Combine(dir, "libLibTorchSharp.so");
    }

    [Fact]
    public void The_stock_library_requires_GLIBCXX_3_4_32_and_the_patch_makes_exactly_that_weak()
    {
        var bytes = File.ReadAllBytes(StockLibrary());
        var before = ElfVersionPatcher.ListRequiredVersions(bytes);
        Assert.Contains(before, v => v.Name == "GLIBCXX_3.4.32" && !v.Weak);
        Assert.Equal(1, ElfVersionPatcher.MarkVersionsWeak(bytes, new HashSet<string> { "GLIBCXX_3.4.32" }));
        var after = ElfVersionPatcher.ListRequiredVersions(bytes);
        Assert.Equal(before.Count, after.Count);
        foreach (var (b, a) in before.Zip(after))
            Assert.Equal(b.Name == "GLIBCXX_3.4.32" ? true : b.Weak, a.Weak);
        Assert.Equal(0, ElfVersionPatcher.MarkVersionsWeak(bytes, new HashSet<string> { "GLIBCXX_3.4.32" })); // idempotent
    }

    [Fact]
    public void Non_ELF_input_is_rejected()
    {
        Assert.Throws<InvalidDataException>(() => ElfVersionPatcher.ListRequiredVersions(new byte[100]));
    }

    [Fact]
    public void TorchSharp_loads_and_computes()
    {
        TorchSharpLoader.EnsureLoaded();
        Assert.NotEqual("unloaded", TorchSharpLoader.Mode);
        using var a = tensor(new float[] { 1, 2, 3, 4 }).view(2, 2);
        using var p = a.matmul(a);
        Assert.Equal(new float[] { 7, 10, 15, 22 }, p.data<float>().ToArray());
    }
}
