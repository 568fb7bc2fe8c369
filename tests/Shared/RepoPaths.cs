namespace ModelBuild.Tests;

/// <summary>Locates the repository and its fixture model from a test's output directory.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string FixtureModel => Path.Combine(Root, "samples", "models", "tiny-fortunes");
    public static string FixtureEvalText => Path.Combine(FixtureModel, "eval.txt");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ModelBuild.sln"))) return dir.FullName;
        throw new InvalidOperationException("ModelBuild.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>A fresh directory under the system temp folder, deleted on dispose.</summary>
    public sealed class TempDir : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "modelbuild-tests", Guid.NewGuid().ToString("N")[..12]);
        public TempDir() => Directory.CreateDirectory(Path);
        public string File(string name) => System.IO.Path.Combine(Path, name);
        public void Dispose()
        {
            try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
