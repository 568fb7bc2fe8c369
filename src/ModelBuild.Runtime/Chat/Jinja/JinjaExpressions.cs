namespace ModelBuild.Runtime.Chat.Jinja;

internal abstract record Expr
{
    public abstract object? Evaluate(Scope scope);
}

internal sealed record Literal(object? Value) : Expr
{
    public override object? Evaluate(Scope scope) => Value;
}

internal sealed record Variable(string Name) : Expr
{
    public override object? Evaluate(Scope scope) => scope.Get(Name);
}

internal sealed record ListExpr(IReadOnlyList<Expr> Items) : Expr
{
    public override object? Evaluate(Scope scope) => Items.Select(i => i.Evaluate(scope)).ToList();
}

internal sealed record DictExpr(IReadOnlyList<(Expr Key, Expr Value)> Entries) : Expr
{
    public override object? Evaluate(Scope scope) =>
        Entries.ToDictionary(e => JinjaValues.ToText(e.Key.Evaluate(scope)), e => e.Value.Evaluate(scope), StringComparer.Ordinal);
}

/// <summary>x.name and x[key].</summary>
internal sealed record Member(Expr Target, Expr Key) : Expr
{
    public override object? Evaluate(Scope scope) => JinjaValues.GetMember(Target.Evaluate(scope), Key.Evaluate(scope));
}

/// <summary>x[start:stop:step].</summary>
internal sealed record Slice(Expr Target, Expr? Start, Expr? Stop, Expr? Step) : Expr
{
    public override object? Evaluate(Scope scope) =>
        JinjaValues.Slice(Target.Evaluate(scope), Start?.Evaluate(scope), Stop?.Evaluate(scope), Step?.Evaluate(scope));
}

internal sealed record Arguments(IReadOnlyList<Expr> Positional, IReadOnlyList<(string Name, Expr Value)> Named)
{
    public static Arguments None { get; } = new([], []);

    public (List<object?> Positional, Dictionary<string, object?> Named) Evaluate(Scope scope) =>
        (Positional.Select(p => p.Evaluate(scope)).ToList(), Named.ToDictionary(n => n.Name, n => n.Value.Evaluate(scope), StringComparer.Ordinal));
}

/// <summary>f(args) for global functions, and value.method(args) for the string and dict methods templates use.</summary>
internal sealed record Call(Expr Callee, Arguments Args) : Expr
{
    public override object? Evaluate(Scope scope)
    {
        var (positional, named) = Args.Evaluate(scope);
        return Callee switch
        {
            Member { Key: Literal { Value: string method } } m => JinjaValues.CallMethod(m.Target.Evaluate(scope), method, positional),
            Variable v => JinjaValues.CallFunction(v.Name, positional, named),
            _ => throw new JinjaException("only functions and methods can be called"),
        };
    }
}

internal sealed record Filter(Expr Value, string Name, Arguments Args) : Expr
{
    public override object? Evaluate(Scope scope)
    {
        var (positional, named) = Args.Evaluate(scope);
        return JinjaValues.ApplyFilter(Name, Value.Evaluate(scope), positional, named);
    }
}

/// <summary>x is [not] test(args).</summary>
internal sealed record Test(Expr Value, string Name, Arguments Args, bool Negated) : Expr
{
    public override object? Evaluate(Scope scope)
    {
        var (positional, _) = Args.Evaluate(scope);
        return JinjaValues.ApplyTest(Name, Value.Evaluate(scope), positional) != Negated;
    }
}

internal sealed record Unary(string Operator, Expr Operand) : Expr
{
    public override object? Evaluate(Scope scope)
    {
        object? v = Operand.Evaluate(scope);
        return Operator switch
        {
            "not" => !JinjaValues.IsTrue(v),
            "-" => v switch { long l => (object)(-l), double d => -d, _ => throw new JinjaException($"cannot negate {JinjaValues.TypeName(v)}") },
            _ => v,
        };
    }
}

internal sealed record Binary(string Operator, Expr Left, Expr Right) : Expr
{
    public override object? Evaluate(Scope scope)
    {
        // and/or short-circuit and return an operand, as in Python.
        if (Operator == "and")
        {
            object? l = Left.Evaluate(scope);
            return JinjaValues.IsTrue(l) ? Right.Evaluate(scope) : l;
        }
        if (Operator == "or")
        {
            object? l = Left.Evaluate(scope);
            return JinjaValues.IsTrue(l) ? l : Right.Evaluate(scope);
        }
        return JinjaValues.Binary(Operator, Left.Evaluate(scope), Right.Evaluate(scope));
    }
}

/// <summary>a if condition else b (b defaults to undefined).</summary>
internal sealed record Conditional(Expr Condition, Expr WhenTrue, Expr? WhenFalse) : Expr
{
    public override object? Evaluate(Scope scope) =>
        JinjaValues.IsTrue(Condition.Evaluate(scope)) ? WhenTrue.Evaluate(scope) : WhenFalse?.Evaluate(scope) ?? Undefined.Value;
}
