using System.Text;

namespace ModelBuild.Runtime.Chat.Jinja;

/// <summary>Variables visible while rendering: a chain of scopes (a for loop's body has its own, as in Jinja).</summary>
internal sealed class Scope(Scope? parent)
{
    private readonly Dictionary<string, object?> _values = new(StringComparer.Ordinal);
    private readonly Scope? _parent = parent;

    public object? Get(string name)
    {
        for (var s = this; s is not null; s = s._parent)
            if (s._values.TryGetValue(name, out var v)) return v;
        return Undefined.Value;
    }

    public void Set(string name, object? value) => _values[name] = value;
}

internal abstract record Node
{
    public abstract void Render(Scope scope, StringBuilder output);

    public static void RenderAll(IReadOnlyList<Node> nodes, Scope scope, StringBuilder output)
    {
        foreach (var n in nodes) n.Render(scope, output);
    }
}

internal sealed record TextNode(string Text) : Node
{
    public override void Render(Scope scope, StringBuilder output) => output.Append(Text);
}

internal sealed record OutputNode(Expr Value) : Node
{
    public override void Render(Scope scope, StringBuilder output) => output.Append(JinjaValues.ToText(Value.Evaluate(scope)));
}

internal sealed record IfNode(IReadOnlyList<(Expr Condition, IReadOnlyList<Node> Body)> Branches, IReadOnlyList<Node> Else) : Node
{
    public override void Render(Scope scope, StringBuilder output)
    {
        foreach (var (condition, body) in Branches)
            if (JinjaValues.IsTrue(condition.Evaluate(scope)))
            {
                RenderAll(body, scope, output);
                return;
            }
        RenderAll(Else, scope, output);
    }
}

internal sealed record ForNode(IReadOnlyList<string> Targets, Expr Source, Expr? Filter, IReadOnlyList<Node> Body, IReadOnlyList<Node> Else) : Node
{
    public override void Render(Scope scope, StringBuilder output)
    {
        var items = new List<object?>();
        foreach (var item in JinjaValues.Iterate(Source.Evaluate(scope)))
        {
            if (Filter is not null)
            {
                var probe = new Scope(scope);
                Bind(probe, item);
                if (!JinjaValues.IsTrue(Filter.Evaluate(probe))) continue;
            }
            items.Add(item);
        }
        if (items.Count == 0)
        {
            RenderAll(Else, scope, output);
            return;
        }
        for (int i = 0; i < items.Count; i++)
        {
            var body = new Scope(scope);
            Bind(body, items[i]);
            body.Set("loop", new Dictionary<string, object?>
            {
                ["index"] = (long)i + 1, ["index0"] = (long)i, ["first"] = i == 0, ["last"] = i == items.Count - 1,
                ["length"] = (long)items.Count, ["revindex"] = (long)(items.Count - i), ["revindex0"] = (long)(items.Count - i - 1),
                ["previtem"] = i > 0 ? items[i - 1] : Undefined.Value, ["nextitem"] = i + 1 < items.Count ? items[i + 1] : Undefined.Value,
            });
            RenderAll(Body, body, output);
        }
    }

    private void Bind(Scope scope, object? item)
    {
        if (Targets.Count == 1)
        {
            scope.Set(Targets[0], item);
            return;
        }
        var parts = JinjaValues.Iterate(item).ToList();
        if (parts.Count != Targets.Count) throw new JinjaException($"cannot unpack {parts.Count} values into {Targets.Count} loop variables");
        for (int k = 0; k < Targets.Count; k++) scope.Set(Targets[k], parts[k]);
    }
}

/// <summary>{% set name = value %} or {% set namespace.attribute = value %}.</summary>
internal sealed record SetNode(string Name, string? Attribute, Expr Value) : Node
{
    public override void Render(Scope scope, StringBuilder output)
    {
        object? value = Value.Evaluate(scope);
        if (Attribute is null) scope.Set(Name, value);
        else if (scope.Get(Name) is JinjaNamespace ns) ns[Attribute] = value;
        else throw new JinjaException($"cannot set '{Name}.{Attribute}': '{Name}' is not a namespace()");
    }
}

/// <summary>{% generation %} … {% endgeneration %} (marks assistant text for training masks): renders its body.</summary>
internal sealed record BlockNode(IReadOnlyList<Node> Body) : Node
{
    public override void Render(Scope scope, StringBuilder output) => RenderAll(Body, scope, output);
}
