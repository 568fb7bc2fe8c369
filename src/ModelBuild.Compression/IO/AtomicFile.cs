namespace ModelBuild.Compression.IO;

/// <summary>
/// Files that appear whole or not at all: written (or copied) under a unique temporary name beside the target,
/// then renamed over it, so a reader, a parallel build or a killed process never sees half a file.
/// </summary>
public static class AtomicFile
{
    public static void WriteAllText(string path, string text) => Replace(path, temp => File.WriteAllText(temp, text));

    public static void Copy(string from, string to) => Replace(to, temp => File.Copy(from, temp, overwrite: true));

    private static void Replace(string path, Action<string> write)
    {
        string temp = path + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            write(temp);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
