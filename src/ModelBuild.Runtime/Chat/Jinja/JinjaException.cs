namespace ModelBuild.Runtime.Chat.Jinja;

/// <summary>A chat template that uses Jinja beyond what <see cref="JinjaTemplate"/> supports, or fails while rendering.</summary>
public sealed class JinjaException(string message, int position = -1, bool raisedByTemplate = false)
    : Exception(position >= 0 ? $"{message} (at character {position} of the template)" : message)
{
    /// <summary>The template itself called raise_exception (it rejects the input), as opposed to a template we cannot run.</summary>
    public bool RaisedByTemplate { get; } = raisedByTemplate;

    /// <summary>Offset in the template source, or -1.</summary>
    public int Position { get; } = position;
}
