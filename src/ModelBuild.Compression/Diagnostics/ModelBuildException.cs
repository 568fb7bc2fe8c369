namespace ModelBuild.Compression.Diagnostics;

/// <summary>
/// A user-facing failure with an MB code, optional file/line/column and a fix hint. <see cref="ToString"/>
/// uses MSBuild's canonical error format so the build shows it at the right place.
/// </summary>
public class ModelBuildException(string code, string message, string? file = null, int line = 0, int column = 0, string? hint = null, Exception? inner = null)
    : Exception(message, inner)
{
    public string Code { get; } = code;
    public string? File { get; } = file;
    public int Line { get; } = line;
    public int Column { get; } = column;
    public string? Hint { get; } = hint;

    public string ToCanonical()
    {
        string origin = File is null ? "modelbuild" : Line > 0 ? $"{File}({Line},{Column})" : File;
        return $"{origin}: error {Code}: {Message}{(Hint is null ? "" : " Hint: " + Hint)}";
    }

    public override string ToString() => ToCanonical();
}
