using System;
using System.IO;

namespace ModelBuild.Tasks;

/// <summary>
/// Finds libtorch's native directory in the NuGet package folders. The ModelBuild package does not carry the
/// 480 MB libtorch itself: it depends on libtorch-cpu-linux-x64 (restored into the package cache, no assets
/// flowing into the app) and the CLI loads it from there.
/// </summary>
public static class LibTorchLocator
{
    /// <summary>Read by the CLI's TorchSharp loader.</summary>
    public const string Variable = "MODELBUILD_LIBTORCH_DIR";

    /// <param name="package">"id/version", e.g. "libtorch-cpu-linux-x64/2.10.0".</param>
    /// <param name="packageFolders">Semicolon-separated folders ($(NuGetPackageFolders)).</param>
    public static string? Find(string package, string? packageFolders)
    {
        string[] parts = package.Split('/');
        if (parts.Length != 2) return null;
        // Package folders store ids and versions in lower case.
        string relative = Path.Combine(parts[0].ToLowerInvariant(), parts[1].ToLowerInvariant(), "runtimes", "linux-x64", "native");
        foreach (string folder in (packageFolders ?? "").Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(folder.Trim(), relative);
            if (File.Exists(Path.Combine(candidate, "libtorch_cpu.so"))) return candidate;
        }
        return null;
    }
}
