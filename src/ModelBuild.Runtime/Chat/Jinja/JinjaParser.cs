namespace ModelBuild.Runtime.Chat.Jinja;

/// <summary>
/// Recursive descent over the pieces <see cref="JinjaLexer"/> makes: statements (if/elif/else, for with
/// loop.*, set, namespace attributes, generation blocks) and expressions with Jinja's precedence, lowest first:
/// conditional, or, and, not, comparisons/in/is, ~, + -, * / // %, unary minus, filters, then member access and calls.
/// </summary>
internal sealed class JinjaParser
{
    private readonly List<Piece> _pieces;
    private int _piece;
    private IReadOnlyList<Token> _tokens = [];
    private int _at;

    private JinjaParser(List<Piece> pieces) => _pieces = pieces;

    public static IReadOnlyList<Node> Parse(string source)
    {
        var parser = new JinjaParser(JinjaLexer.Split(source));
        var nodes = parser.ParseBlock(out string? end);
        if (end is not null) throw new JinjaException($"unexpected {{% {end} %}}");
        return nodes;
    }

    /// <summary>Nodes up to the next block keyword that closes or continues an enclosing statement (returned in <paramref name="end"/>).</summary>
    private List<Node> ParseBlock(out string? end, params string[] enders)
    {
        var nodes = new List<Node>();
        while (_piece < _pieces.Count)
        {
            var piece = _pieces[_piece++];
            switch (piece.Kind)
            {
                case PieceKind.Text:
                    nodes.Add(new TextNode(piece.Text));
                    break;
                case PieceKind.Output:
                    Begin(piece);
                    nodes.Add(new OutputNode(ParseExpression()));
                    ExpectEnd();
                    break;
                default:
                    Begin(piece);
                    var keyword = Next();
                    if (keyword.Kind != TokenKind.Name) throw Error("expected a statement", keyword);
                    if (enders.Contains(keyword.Text))
                    {
                        end = keyword.Text;
                        return nodes;
                    }
                    nodes.Add(keyword.Text switch
                    {
                        "if" => ParseIf(),
                        "for" => ParseFor(),
                        "set" => ParseSet(),
                        "generation" => ParseGeneration(),
                        _ => throw Error($"unsupported or misplaced statement '{keyword.Text}'", keyword),
                    });
                    break;
            }
        }
        end = null;
        if (enders.Length > 0) throw new JinjaException($"missing {{% {enders[^1]} %}}");
        return nodes;
    }

    private Node ParseIf()
    {
        var branches = new List<(Expr, IReadOnlyList<Node>)>();
        var condition = ParseExpression();
        ExpectEnd();
        while (true)
        {
            var body = ParseBlock(out string? end, "elif", "else", "endif");
            branches.Add((condition, body));
            if (end == "endif")
            {
                ExpectEnd();
                return new IfNode(branches, []);
            }
            if (end == "else")
            {
                ExpectEnd();
                var otherwise = ParseBlock(out _, "endif");
                ExpectEnd();
                return new IfNode(branches, otherwise);
            }
            condition = ParseExpression();
            ExpectEnd();
        }
    }

    private Node ParseFor()
    {
        var targets = new List<string> { ExpectName() };
        while (Accept(",")) targets.Add(ExpectName());
        if (!Accept("in")) throw Error("expected 'in'", Peek());
        var source = ParseOr();
        Expr? filter = Accept("if") ? ParseOr() : null;
        ExpectEnd();
        var body = ParseBlock(out string? end, "else", "endfor");
        IReadOnlyList<Node> otherwise = [];
        ExpectEnd();
        if (end == "else")
        {
            otherwise = ParseBlock(out _, "endfor");
            ExpectEnd();
        }
        return new ForNode(targets, source, filter, body, otherwise);
    }

    private Node ParseSet()
    {
        string name = ExpectName();
        string? attribute = Accept(".") ? ExpectName() : null;
        if (!Accept("=")) throw Error("block {% set %} is not supported; use {% set name = value %}", Peek());
        var value = ParseExpression();
        ExpectEnd();
        return new SetNode(name, attribute, value);
    }

    private Node ParseGeneration()
    {
        ExpectEnd();
        var body = ParseBlock(out _, "endgeneration");
        ExpectEnd();
        return new BlockNode(body);
    }

    // Expressions, lowest precedence first.

    private Expr ParseExpression()
    {
        var value = ParseOr();
        if (!Accept("if")) return value;
        var condition = ParseOr();
        return new Conditional(condition, value, Accept("else") ? ParseExpression() : null);
    }

    private Expr ParseOr()
    {
        var left = ParseAnd();
        while (Accept("or")) left = new Binary("or", left, ParseAnd());
        return left;
    }

    private Expr ParseAnd()
    {
        var left = ParseNot();
        while (Accept("and")) left = new Binary("and", left, ParseNot());
        return left;
    }

    private Expr ParseNot() => Accept("not") ? new Unary("not", ParseNot()) : ParseComparison();

    private Expr ParseComparison()
    {
        var left = ParseConcat();
        while (true)
        {
            if (Peek().Kind == TokenKind.Operator && Peek().Text is "==" or "!=" or "<" or ">" or "<=" or ">=")
                left = new Binary(Next().Text, left, ParseConcat());
            else if (Accept("in")) left = new Binary("in", left, ParseConcat());
            else if (Peek().Is("not") && PeekAt(1).Is("in"))
            {
                _at += 2;
                left = new Binary("not in", left, ParseConcat());
            }
            else if (Accept("is"))
            {
                bool negated = Accept("not");
                var test = Next();
                if (test.Kind != TokenKind.Name && !test.Is("==") && !test.Is("!=")) throw Error("expected a test name", test);
                var args = Peek().Is("(") ? ParseArguments() :
                    Peek().Kind is TokenKind.String or TokenKind.Integer or TokenKind.Float ? new Arguments([ParsePrimary()], []) : Arguments.None;
                left = new Test(left, test.Text == "none" || test.Text == "None" ? "none" : test.Text, args, negated);
            }
            else return left;
        }
    }

    private Expr ParseConcat()
    {
        var left = ParseAdditive();
        while (Accept("~")) left = new Binary("~", left, ParseAdditive());
        return left;
    }

    private Expr ParseAdditive()
    {
        var left = ParseMultiplicative();
        while (Peek().Is("+") || Peek().Is("-")) left = new Binary(Next().Text, left, ParseMultiplicative());
        return left;
    }

    private Expr ParseMultiplicative()
    {
        var left = ParseUnary();
        while (Peek().Is("*") || Peek().Is("/") || Peek().Is("//") || Peek().Is("%")) left = new Binary(Next().Text, left, ParseUnary());
        return left;
    }

    private Expr ParseUnary() => Accept("-") ? new Unary("-", ParseUnary()) : Accept("+") ? ParseUnary() : ParseFiltered();

    private Expr ParseFiltered()
    {
        var value = ParsePostfix();
        while (Accept("|"))
        {
            string name = ExpectName();
            value = new Filter(value, name, Peek().Is("(") ? ParseArguments() : Arguments.None);
        }
        return value;
    }

    private Expr ParsePostfix()
    {
        var value = ParsePrimary();
        while (true)
        {
            if (Accept(".")) value = new Member(value, new Literal(ExpectName()));
            else if (Accept("["))
            {
                Expr? start = Peek().Is(":") ? null : ParseExpression();
                if (Accept(":"))
                {
                    Expr? stop = Peek().Is(":") || Peek().Is("]") ? null : ParseExpression();
                    Expr? step = Accept(":") && !Peek().Is("]") ? ParseExpression() : null;
                    value = new Slice(value, start, stop, step);
                }
                else value = new Member(value, start!);
                Expect("]");
            }
            else if (Peek().Is("(")) value = new Call(value, ParseArguments());
            else return value;
        }
    }

    private Expr ParsePrimary()
    {
        var t = Next();
        switch (t.Kind)
        {
            case TokenKind.String:
                string text = t.Text;
                while (Peek().Kind == TokenKind.String) text += Next().Text; // adjacent literals concatenate
                return new Literal(text);
            case TokenKind.Integer or TokenKind.Float:
                return new Literal(JinjaLexer.ParseNumber(t));
            case TokenKind.Name:
                return t.Text switch
                {
                    "true" or "True" => new Literal(true),
                    "false" or "False" => new Literal(false),
                    "none" or "None" => new Literal(null),
                    _ => new Variable(t.Text),
                };
        }
        if (t.Is("("))
        {
            var inner = ParseExpression();
            if (Accept(","))
            {
                var tuple = new List<Expr> { inner };
                while (!Peek().Is(")")) { tuple.Add(ParseExpression()); if (!Accept(",")) break; }
                inner = new ListExpr(tuple);
            }
            Expect(")");
            return inner;
        }
        if (t.Is("["))
        {
            var items = new List<Expr>();
            while (!Peek().Is("]")) { items.Add(ParseExpression()); if (!Accept(",")) break; }
            Expect("]");
            return new ListExpr(items);
        }
        if (t.Is("{"))
        {
            var entries = new List<(Expr, Expr)>();
            while (!Peek().Is("}"))
            {
                var key = ParseExpression();
                Expect(":");
                entries.Add((key, ParseExpression()));
                if (!Accept(",")) break;
            }
            Expect("}");
            return new DictExpr(entries);
        }
        throw Error("expected a value", t);
    }

    private Arguments ParseArguments()
    {
        Expect("(");
        var positional = new List<Expr>();
        var named = new List<(string, Expr)>();
        while (!Peek().Is(")"))
        {
            if (Peek().Kind == TokenKind.Name && PeekAt(1).Is("="))
            {
                string name = Next().Text;
                _at++;
                named.Add((name, ParseExpression()));
            }
            else positional.Add(ParseExpression());
            if (!Accept(",")) break;
        }
        Expect(")");
        return new Arguments(positional, named);
    }

    // Token helpers.

    private void Begin(Piece piece) => (_tokens, _at) = (piece.Tokens, 0);
    private Token Peek() => _tokens[Math.Min(_at, _tokens.Count - 1)];
    private Token PeekAt(int ahead) => _tokens[Math.Min(_at + ahead, _tokens.Count - 1)];
    private Token Next() => _tokens[Math.Min(_at++, _tokens.Count - 1)];

    private bool Accept(string text)
    {
        if (!Peek().Is(text)) return false;
        _at++;
        return true;
    }

    private void Expect(string text)
    {
        if (!Accept(text)) throw Error($"expected '{text}'", Peek());
    }

    private string ExpectName()
    {
        var t = Next();
        return t.Kind == TokenKind.Name ? t.Text : throw Error("expected a name", t);
    }

    private void ExpectEnd()
    {
        if (Peek().Kind != TokenKind.End) throw Error("expected the end of the tag", Peek());
    }

    private static JinjaException Error(string message, Token at) => new($"{message}, found {at}", at.Position);
}
