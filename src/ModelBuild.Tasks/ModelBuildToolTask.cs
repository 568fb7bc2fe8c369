using System;
using System.IO;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace ModelBuild.Tasks;

/// <summary>
/// Runs the `modelbuild` CLI out of process (as Grpc.Tools runs protoc), so the heavy compression stack never
/// loads into MSBuild. The CLI prints errors in MSBuild's canonical format, which ToolTask turns into
/// diagnostics at the right file and line.
/// </summary>
public abstract class ModelBuildToolTask : ToolTask
{
    /// <summary>Path to modelbuild.dll (run with the dotnet host) or a native modelbuild executable.</summary>
    [Required] public string CliPath { get; set; } = "";

    /// <summary>Directory relative paths are resolved against (the project directory).</summary>
    [Required] public string ProjectDirectory { get; set; } = "";

    /// <summary>
    /// "id/version" of the libtorch package whose native directory the CLI should load libtorch from, when the CLI
    /// ships without it (the ModelBuild NuGet package). Empty: libtorch is beside the CLI.
    /// </summary>
    public string? LibTorchPackage { get; set; }

    /// <summary>NuGet package folders to look for <see cref="LibTorchPackage"/> in ($(NuGetPackageFolders)).</summary>
    public string? PackageFolders { get; set; }

    protected override string ToolName => "dotnet";

    protected override string GenerateFullPathToTool()
    {
        if (!CliPath.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)) return CliPath;
        string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        return !string.IsNullOrEmpty(host) && File.Exists(host) ? host! : "dotnet";
    }

    protected override string GetWorkingDirectory() => ProjectDirectory;

    protected override bool ValidateParameters()
    {
        if (!File.Exists(CliPath))
        {
            Log.LogError(null, "MB1000", null, null, 0, 0, 0, 0, "The modelbuild CLI was not found at '{0}'. Hint: set the ModelBuildCliPath property, or restore the ModelBuild package.", CliPath);
            return false;
        }
        if (!string.IsNullOrEmpty(LibTorchPackage))
        {
            string? libTorch = LibTorchLocator.Find(LibTorchPackage!, PackageFolders);
            if (libTorch is null)
            {
                Log.LogError(null, "MB1000", null, null, 0, 0, 0, 0,
                    "The {0} package was not found in the NuGet package folders ({1}). Hint: run `dotnet restore`; ModelBuild depends on it for compression.",
                    LibTorchPackage, PackageFolders);
                return false;
            }
            EnvironmentVariables = [.. EnvironmentVariables ?? [], LibTorchLocator.Variable + "=" + libTorch];
        }
        return base.ValidateParameters();
    }

    protected override string GenerateCommandLineCommands()
    {
        var builder = new CommandLineBuilder();
        if (CliPath.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)) builder.AppendFileNameIfNotNull(CliPath);
        AppendArguments(builder);
        return builder.ToString();
    }

    protected abstract void AppendArguments(CommandLineBuilder builder);

    // Progress lines are normal-importance messages so `dotnet build` shows them at default verbosity.
    protected override MessageImportance StandardOutputLoggingImportance => MessageImportance.High;
}
