namespace ModelBuild.Format.Pack;

/// <summary>A pack is malformed, truncated or tampered with. The message names the file and, where known, the tensor.</summary>
public sealed class PackFormatException(string path, string message) : IOException($"{path}: {message}")
{
    public string PackPath { get; } = path;
}
