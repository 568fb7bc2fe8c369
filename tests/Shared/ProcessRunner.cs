using System.Diagnostics;
using System.Text;

namespace ModelBuild.Tests;

/// <summary>Runs a child process to completion and captures its output (for CLI and build tests).</summary>
public static class ProcessRunner
{
    public sealed record Result(int ExitCode, string StdOut, string StdErr)
    {
        public string All => StdOut + StdErr;
    }

    public static Result Run(string fileName, IEnumerable<string> args, string? workingDirectory = null, TimeSpan? timeout = null,
        IDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        // Builds started by tests must not reuse or leave MSBuild nodes behind.
        psi.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        if (environment is not null) foreach (var kv in environment) psi.Environment[kv.Key] = kv.Value;
        using var p = Process.Start(psi)!;
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (stdout) stdout.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        if (!p.WaitForExit(timeout ?? TimeSpan.FromMinutes(10)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', args)} did not finish in time.\n{stdout}\n{stderr}");
        }
        p.WaitForExit();
        return new Result(p.ExitCode, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Runs the modelbuild CLI built next to the test assembly.</summary>
    public static Result Cli(params string[] args) =>
        Run("dotnet", new[] { Path.Combine(AppContext.BaseDirectory, "modelbuild.dll") }.Concat(args));

    /// <summary>Runs the CLI with extra environment variables (e.g. its own cache directory).</summary>
    public static Result CliWith(IDictionary<string, string> environment, params string[] args) =>
        Run("dotnet", new[] { Path.Combine(AppContext.BaseDirectory, "modelbuild.dll") }.Concat(args), environment: environment);
}
