using System.Text;

namespace ModelBuild.Runtime.Chat.Jinja;

/// <summary>
/// The part of Jinja that Hugging Face chat templates use, rendered the way transformers' apply_chat_template
/// renders them (trim_blocks and lstrip_blocks on, no autoescaping): text and {{ }} output with whitespace control,
/// if/elif/else, for (with loop.index/first/last/…, else, inline if), set (including namespace() attributes),
/// comments, generation blocks, Python-like operators, string/dict methods, the common filters and tests,
/// raise_exception, range, namespace and strftime_now. Macros, includes and block set are not supported: parsing
/// such a template fails with a <see cref="JinjaException"/>.
/// </summary>
public sealed class JinjaTemplate
{
    private readonly IReadOnlyList<Node> _nodes;

    private JinjaTemplate(IReadOnlyList<Node> nodes) => _nodes = nodes;

    /// <exception cref="JinjaException">The template is malformed or uses unsupported Jinja.</exception>
    public static JinjaTemplate Parse(string source) => new(JinjaParser.Parse(source));

    /// <summary>
    /// Renders with <paramref name="variables"/>: strings, numbers, bools, null, lists (IList&lt;object?&gt;) and
    /// dictionaries (IDictionary&lt;string, object?&gt;).
    /// </summary>
    /// <exception cref="JinjaException">The template raised an exception or applied an operation to the wrong kind of value.</exception>
    public string Render(IReadOnlyDictionary<string, object?> variables)
    {
        var scope = new Scope(null);
        foreach (var kv in variables) scope.Set(kv.Key, Normalize(kv.Value));
        var output = new StringBuilder();
        try { Node.RenderAll(_nodes, scope, output); }
        catch (InvalidCastException e) { throw new JinjaException("a value of the wrong kind: " + e.Message); }
        return output.ToString();
    }

    /// <summary>Numbers become long or double and collections the list/dictionary shapes the renderer works on.</summary>
    private static object? Normalize(object? v) => v switch
    {
        int i => (long)i,
        float f => (double)f,
        string or long or double or bool or null => v,
        IDictionary<string, object?> d => d.ToDictionary(kv => kv.Key, kv => Normalize(kv.Value), StringComparer.Ordinal),
        IEnumerable<object?> e => e.Select(Normalize).ToList(),
        _ => v.ToString(),
    };
}
