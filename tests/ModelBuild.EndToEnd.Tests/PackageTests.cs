using ModelBuild.Tests;

namespace ModelBuild.EndToEnd.Tests;

/// <summary>
/// ModelBuild as users get it: `dotnet pack` into a local folder, then a brand-new console project that references
/// the ModelBuild package by version through a nuget.config, and the modelbuild dotnet tool installed from it.
/// </summary>
[Trait("Category", "Slow")]
public class PackageTests
{
    private static readonly string[] PackedProjects =
        ["src/ModelBuild.Format", "src/ModelBuild.Runtime", "src/ModelBuild.Package", "src/ModelBuild.Cli"];

    [Fact]
    public void A_new_project_referencing_the_packages_compresses_generates_and_runs_and_the_tool_installs()
    {
        using var dir = new RepoPaths.TempDir();
        // A version no earlier run used, so no package cache can hand back a stale copy.
        string version = "0.1.0-e2e." + DateTime.UtcNow.ToString("yyyyMMddHHmmss");
        string feed = dir.File("feed");
        foreach (string project in PackedProjects)
        {
            var pack = ProcessRunner.Run("dotnet", ["pack", Path.Combine(RepoPaths.Root, project), "-c", "Release", "-o", feed,
                "--artifacts-path", dir.File("artifacts"), "-p:Version=" + version, "-nologo"], RepoPaths.Root, TimeSpan.FromMinutes(15));
            Assert.True(pack.ExitCode == 0, project + " pack failed:\n" + pack.All);
        }
        var modelBuildPackage = new FileInfo(Path.Combine(feed, $"ModelBuild.{version}.nupkg"));
        Assert.True(modelBuildPackage.Exists);
        Assert.True(modelBuildPackage.Length < 20 << 20, $"the ModelBuild package should not carry libtorch ({modelBuildPackage.Length} bytes)");

        string app = dir.File("app");
        Directory.CreateDirectory(app);
        CopyDirectory(RepoPaths.FixtureModel, Path.Combine(app, "models", "tiny-fortunes"));
        File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config><add key="globalPackagesFolder" value="{dir.File("packages")}" /></config>
              <packageSources><add key="local" value="{feed}" /></packageSources>
              <!-- Everything else (TorchSharp's libtorch included) comes from the packages this machine already restored. -->
              <fallbackPackageFolders><add key="machine" value="{MachinePackagesFolder()}" /></fallbackPackageFolders>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(app, "App.csproj"), ConsoleProject.Xml("Consumer", $"""
            <PackageReference Include="ModelBuild" Version="{version}" />
                <CompressedModel Include="models/tiny-fortunes" Spec="tiny-fortunes.compress.yaml" ClassName="FortuneModel" />
            """));
        File.WriteAllText(Path.Combine(app, "tiny-fortunes.compress.yaml"),
            "stages:\n  - quantize: { method: rtn, bits: 4, group_size: 128, ignore: [lm_head] }\n");
        File.WriteAllText(Path.Combine(app, "Program.cs"), """
            using Consumer;
            using var model = FortuneModel.Load();
            Console.WriteLine("text=" + model.Generate("The meaning of life is", new() { MaxTokens = 16, Temperature = 0 }));
            await foreach (var piece in model.GenerateStreamingAsync("A fortune:", new() { MaxTokens = 4, Seed = 3 })) Console.Write(piece);
            Console.WriteLine();
            Console.WriteLine("vocab=" + FortuneModel.VocabSize);
            """);

        var environment = new Dictionary<string, string> { ["MODELBUILD_CACHE_DIR"] = dir.File("cache") };
        var build = ProcessRunner.Run("dotnet", ["build", "-v:n", "-nologo"], app, TimeSpan.FromMinutes(15), environment);
        Assert.True(build.ExitCode == 0, "consumer build failed:\n" + build.All);
        Assert.Contains("block 6/6", build.StdOut); // compressed by the packaged CLI with libtorch from the package cache
        Assert.DoesNotContain("warning NU", build.All); // the packages' dependency versions resolve as declared
        string output = Path.Combine(app, "bin", "Debug", "net10.0");
        Assert.True(File.Exists(Path.Combine(output, "tiny-fortunes.mbpack")));
        Assert.Empty(Directory.GetFiles(output, "libtorch*", SearchOption.AllDirectories)); // the app ships no libtorch

        var run = ProcessRunner.Run("dotnet", [Path.Combine(output, "App.dll")], app, TimeSpan.FromMinutes(2));
        Assert.True(run.ExitCode == 0, run.All);
        Assert.Matches(@"text=\s*\w", run.StdOut);
        Assert.Contains("vocab=2048", run.StdOut);

        string toolPath = dir.File("tool");
        var install = ProcessRunner.Run("dotnet", ["tool", "install", "ModelBuild.Cli", "--version", version, "--tool-path", toolPath], app, TimeSpan.FromMinutes(10));
        Assert.True(install.ExitCode == 0, install.All);
        var inspect = ProcessRunner.Run(Path.Combine(toolPath, "modelbuild"), ["inspect", Path.Combine(output, "tiny-fortunes.mbpack")], app);
        Assert.True(inspect.ExitCode == 0, inspect.All);
        Assert.Contains("int4", inspect.StdOut);
        // The tool compresses on its own (libtorch inside the tool package).
        var compress = ProcessRunner.Run(Path.Combine(toolPath, "modelbuild"),
            ["compress", "models/tiny-fortunes", "--spec", "tiny-fortunes.compress.yaml", "-o", dir.File("tool.mbpack"), "--no-cache"], app, TimeSpan.FromMinutes(5));
        Assert.True(compress.ExitCode == 0, compress.All);
        Assert.Equal(File.ReadAllBytes(Path.Combine(output, "tiny-fortunes.mbpack")), File.ReadAllBytes(dir.File("tool.mbpack")));
    }

    private static string MachinePackagesFolder() =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }
}
