using ModelBuild.Tasks;
using ModelBuild.Tests;

namespace ModelBuild.Tasks.Tests;

public class LibTorchLocatorTests
{
    [Fact]
    public void Finds_the_native_directory_in_the_first_package_folder_that_has_it()
    {
        using var dir = new RepoPaths.TempDir();
        string empty = dir.File("empty"), fallback = dir.File("fallback");
        Directory.CreateDirectory(empty);
        string native = Path.Combine(fallback, "libtorch-cpu-linux-x64", "2.10.0", "runtimes", "linux-x64", "native");
        Directory.CreateDirectory(native);
        File.WriteAllText(Path.Combine(native, "libtorch_cpu.so"), "");

        Assert.Equal(native, LibTorchLocator.Find("libtorch-cpu-linux-x64/2.10.0", $"{empty};{fallback}/"));
        Assert.Equal(native, LibTorchLocator.Find("LibTorch-CPU-Linux-x64/2.10.0", fallback)); // ids are lower case on disk
        Assert.Null(LibTorchLocator.Find("libtorch-cpu-linux-x64/2.9.0", $"{empty};{fallback}"));
        Assert.Null(LibTorchLocator.Find("libtorch-cpu-linux-x64/2.10.0", empty));
        Assert.Null(LibTorchLocator.Find("not-an-id-and-version", fallback));
        Assert.Null(LibTorchLocator.Find("libtorch-cpu-linux-x64/2.10.0", null));
    }
}
