using ModelBuild.Compression.Diagnostics;
using ModelBuild.Format.Pack;

namespace ModelBuild.Cli.Commands;

public static class VerifyCommand
{
    public static int Run(IEnumerable<string> args)
    {
        var cl = new CommandLine(args, Array.Empty<string>(), Array.Empty<string>());
        string path = cl.Positional0("pack path");
        using var pack = PackReader.Open(path, verifyChecksums: false);
        var problems = pack.Verify();
        foreach (var p in problems) Console.Error.WriteLine($"{path}: error {ErrorCodes.InvalidPack}: {p}");
        if (problems.Count > 0) return 1;
        Console.WriteLine($"{path}: OK ({pack.Manifest.Tensors.Count} tensors, {pack.Manifest.Tensors.Sum(t => t.Parts.Count)} blobs, whole-file checksum match)");
        return 0;
    }
}
