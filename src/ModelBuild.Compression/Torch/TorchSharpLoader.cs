using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace ModelBuild.Compression.Torch;

/// <summary>
/// Makes TorchSharp load on hosts whose libstdc++ is older than the one libLibTorchSharp.so was linked
/// against (Debian 12). Where the stock library loads, nothing is done. Otherwise a copy with the
/// missing GLIBCXX version requirement marked weak is written once to a cache and loaded explicitly
/// before TorchSharp initialises.
/// </summary>
public static class TorchSharpLoader
{
    private static readonly HashSet<string> WeakenedVersions = new(StringComparer.Ordinal) { "GLIBCXX_3.4.32" };
    private static readonly object Gate = new();
    private static bool _done;

    /// <summary>How the native library was loaded: "stock", "patched:&lt;path&gt;" or "not-linux".</summary>
    public static string Mode { get; private set; } = "unloaded";

    public static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (_done) return;
            Load();
            // Touch libtorch so any remaining failure surfaces here, with our context.
            TorchSharp.torch.InitializeDeviceType(TorchSharp.DeviceType.CPU);
            _done = true;
        }
    }

    private static void Load()
    {
        if (!OperatingSystem.IsLinux()) { Mode = "not-linux"; return; }
        string nativeDir = FindNativeDirectory();
        string libTorchDir = LibTorchDirectory(nativeDir);
        if (!File.Exists(Path.Combine(libTorchDir, "libtorch_cpu.so")))
            throw MissingLibTorch($"libtorch (libtorch_cpu.so) is not in {libTorchDir}.");
        // Dependencies first, by full path, so the patched copy (living elsewhere) and a libLibTorchSharp.so
        // in another directory than libtorch (the NuGet package's tools folder) resolve them by soname.
        foreach (var dep in new[] { "libc10.so", "libtorch_cpu.so", "libtorch.so" })
        {
            var p = Path.Combine(libTorchDir, dep);
            if (File.Exists(p)) NativeLibrary.Load(p);
        }
        string stock = Path.Combine(nativeDir, "libLibTorchSharp.so");
        if (!File.Exists(stock))
            throw new FileNotFoundException($"libLibTorchSharp.so not found under {nativeDir}; is the libtorch-cpu-linux-x64 package referenced?", stock);
        if (NativeLibrary.TryLoad(stock, out var handle))
        {
            Mode = "stock";
            RegisterResolver(handle);
            return;
        }
        string patched = WritePatchedCopy(stock);
        handle = NativeLibrary.Load(patched);
        RegisterResolver(handle);
        Mode = "patched:" + patched;
    }

    private static void RegisterResolver(IntPtr handle)
    {
        try
        {
            NativeLibrary.SetDllImportResolver(typeof(TorchSharp.torch).Assembly, (name, _, _) =>
                name is "LibTorchSharp" or "libLibTorchSharp" or "libLibTorchSharp.so" ? handle : IntPtr.Zero);
        }
        catch (InvalidOperationException)
        {
            // A resolver was already set (by TorchSharp or an earlier call); the soname match still applies.
        }
    }

    /// <summary>Writes (once, atomically) the patched copy into the cache and returns its path.</summary>
    public static string WritePatchedCopy(string stockPath)
    {
        byte[] bytes = File.ReadAllBytes(stockPath);
        string hash = Convert.ToHexString(SHA256.HashData(bytes))[..16].ToLowerInvariant();
        string dir = Path.Combine(Pipeline.CacheDirectory.Root, "torchsharp-compat", hash);
        string target = Path.Combine(dir, "libLibTorchSharp.so");
        if (File.Exists(target)) return target;
        Directory.CreateDirectory(dir);
        int count = ElfVersionPatcher.MarkVersionsWeak(bytes, WeakenedVersions);
        if (count == 0)
            throw new InvalidOperationException($"{stockPath} failed to load and has no {string.Join(",", WeakenedVersions)} requirement to relax; check `ldd {stockPath}`.");
        string temp = target + "." + Environment.ProcessId + ".tmp";
        File.WriteAllBytes(temp, bytes);
        File.Move(temp, target, overwrite: true);
        return target;
    }

    /// <summary>
    /// Where libtorch's own libraries are: <see cref="LibTorchDirectoryVariable"/> when set (the ModelBuild
    /// package ships without libtorch and points it at the libtorch-cpu-linux-x64 package in the NuGet cache),
    /// else beside libLibTorchSharp.so.
    /// </summary>
    private static string LibTorchDirectory(string nativeDir)
    {
        string? fromEnvironment = Environment.GetEnvironmentVariable(LibTorchDirectoryVariable);
        if (string.IsNullOrEmpty(fromEnvironment)) return nativeDir;
        if (!File.Exists(Path.Combine(fromEnvironment, "libtorch_cpu.so")))
            throw MissingLibTorch($"{LibTorchDirectoryVariable}={fromEnvironment} has no libtorch_cpu.so.");
        return fromEnvironment;
    }

    private static Diagnostics.ModelBuildException MissingLibTorch(string message) =>
        new(Diagnostics.ErrorCodes.ComputeEngineMissing, message + " Compression needs libtorch.",
            hint: $"run `dotnet restore` (the ModelBuild package depends on libtorch-cpu-linux-x64), or set {LibTorchDirectoryVariable} to the directory holding libtorch_cpu.so.");

    /// <summary>Environment variable naming the directory holding libtorch_cpu.so, libc10.so and libtorch.so.</summary>
    public const string LibTorchDirectoryVariable = "MODELBUILD_LIBTORCH_DIR";

    private static string FindNativeDirectory()
    {
        var candidates = new List<string>();
        foreach (var baseDir in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(typeof(TorchSharp.torch).Assembly.Location) ?? "" })
        {
            candidates.Add(Path.Combine(baseDir, "runtimes", "linux-x64", "native"));
            candidates.Add(baseDir);
        }
        foreach (var c in candidates)
            if (File.Exists(Path.Combine(c, "libLibTorchSharp.so"))) return c;
        throw new FileNotFoundException("libLibTorchSharp.so not found in: " + string.Join(", ", candidates));
    }
}
