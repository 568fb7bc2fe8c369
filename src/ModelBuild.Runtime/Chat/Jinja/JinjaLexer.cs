using System.Globalization;
using System.Text;

namespace ModelBuild.Runtime.Chat.Jinja;

internal enum TokenKind { Name, String, Integer, Float, Operator, End }

internal readonly record struct Token(TokenKind Kind, string Text, int Position)
{
    public bool Is(string op) => Kind is TokenKind.Operator or TokenKind.Name && Text == op;
    public override string ToString() => Kind == TokenKind.End ? "end of tag" : $"'{Text}'";
}

internal enum PieceKind { Text, Output, Statement }

/// <summary>A run of literal text, or the tokens of one {{ output }} or {% statement %} tag.</summary>
internal sealed record Piece(PieceKind Kind, string Text, IReadOnlyList<Token> Tokens, int Position);

/// <summary>
/// Splits a template into text and tags, applying whitespace control as Hugging Face renders chat templates:
/// `-` on a tag strips whitespace on that side; trim_blocks drops the first newline after a block or comment tag;
/// lstrip_blocks drops spaces and tabs before a block or comment tag at the start of a line.
/// </summary>
internal static class JinjaLexer
{
    public static List<Piece> Split(string source)
    {
        var pieces = new List<Piece>();
        int i = 0;
        bool stripNextLeading = false, trimNextNewline = false;
        while (i < source.Length)
        {
            int open = NextTag(source, i);
            string text = source[i..(open < 0 ? source.Length : open)];
            if (stripNextLeading) text = text.TrimStart();
            else if (trimNextNewline) text = text.StartsWith("\r\n", StringComparison.Ordinal) ? text[2..] : text.StartsWith('\n') ? text[1..] : text;
            stripNextLeading = trimNextNewline = false;
            if (open < 0)
            {
                AddText(pieces, text, i);
                break;
            }
            char kind = source[open + 1];
            bool stripBefore = open + 2 < source.Length && source[open + 2] == '-';
            bool keepBefore = open + 2 < source.Length && source[open + 2] == '+';
            if (stripBefore) text = text.TrimEnd();
            else if (kind != '{' && !keepBefore) text = LstripBlock(text);
            AddText(pieces, text, i);

            int bodyStart = open + 2 + (stripBefore || keepBefore ? 1 : 0);
            if (kind == '#')
            {
                int close = source.IndexOf("#}", bodyStart, StringComparison.Ordinal);
                if (close < 0) throw new JinjaException("unclosed comment", open);
                stripNextLeading = source[close - 1] == '-';
                trimNextNewline = !stripNextLeading;
                i = close + 2;
                continue;
            }
            var tokens = Tokenize(source, bodyStart, kind == '{' ? '}' : '%', out int end, out bool stripAfter);
            pieces.Add(new Piece(kind == '{' ? PieceKind.Output : PieceKind.Statement, "", tokens, open));
            stripNextLeading = stripAfter;
            trimNextNewline = kind == '%' && !stripAfter;
            i = end;
        }
        return pieces;
    }

    private static int NextTag(string s, int from)
    {
        for (int i = s.IndexOf('{', from); i >= 0 && i + 1 < s.Length; i = s.IndexOf('{', i + 1))
            if (s[i + 1] is '{' or '%' or '#') return i;
        return -1;
    }

    private static void AddText(List<Piece> pieces, string text, int position)
    {
        if (text.Length > 0) pieces.Add(new Piece(PieceKind.Text, text, [], position));
    }

    /// <summary>lstrip_blocks: spaces and tabs between the last line break and a block tag go.</summary>
    private static string LstripBlock(string text)
    {
        int k = text.Length;
        while (k > 0 && text[k - 1] is ' ' or '\t') k--;
        return k == 0 || text[k - 1] == '\n' ? text[..k] : text;
    }

    private const string TwoCharOperators = "== != <= >= // ** ";

    private static List<Token> Tokenize(string s, int i, char closer, out int end, out bool stripAfter)
    {
        var tokens = new List<Token>();
        while (true)
        {
            while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
            if (i >= s.Length) throw new JinjaException("unclosed tag", i);
            if (s[i] == '-' && i + 2 < s.Length && s[i + 1] == closer && s[i + 2] == '}')
            {
                (end, stripAfter) = (i + 3, true);
                break;
            }
            if (s[i] == closer && i + 1 < s.Length && s[i + 1] == '}')
            {
                (end, stripAfter) = (i + 2, false);
                break;
            }
            int start = i;
            char c = s[i];
            if (c is '\'' or '"')
            {
                var sb = new StringBuilder();
                for (i++; i < s.Length && s[i] != c; i++)
                {
                    if (s[i] == '\\' && i + 1 < s.Length)
                    {
                        i++;
                        sb.Append(s[i] switch { 'n' => '\n', 't' => '\t', 'r' => '\r', _ => s[i] });
                    }
                    else sb.Append(s[i]);
                }
                if (i >= s.Length) throw new JinjaException("unterminated string", start);
                i++;
                tokens.Add(new Token(TokenKind.String, sb.ToString(), start));
            }
            else if (char.IsDigit(c))
            {
                while (i < s.Length && (char.IsDigit(s[i]) || s[i] == '_')) i++;
                bool isFloat = i + 1 < s.Length && s[i] == '.' && char.IsDigit(s[i + 1]);
                if (isFloat) for (i++; i < s.Length && char.IsDigit(s[i]); i++) { }
                tokens.Add(new Token(isFloat ? TokenKind.Float : TokenKind.Integer, s[start..i].Replace("_", ""), start));
            }
            else if (char.IsLetter(c) || c == '_')
            {
                while (i < s.Length && (char.IsLetterOrDigit(s[i]) || s[i] == '_')) i++;
                tokens.Add(new Token(TokenKind.Name, s[start..i], start));
            }
            else
            {
                string two = i + 1 < s.Length ? s.Substring(i, 2) : "";
                string op = two.Length == 2 && TwoCharOperators.Contains(two + " ", StringComparison.Ordinal) ? two : c.ToString();
                if (!"+-*/%~|.,:()[]{}<>=!".Contains(op[0])) throw new JinjaException($"unexpected character '{c}'", i);
                i += op.Length;
                tokens.Add(new Token(TokenKind.Operator, op, start));
            }
        }
        tokens.Add(new Token(TokenKind.End, "", end));
        return tokens;
    }

    public static object ParseNumber(Token t) => t.Kind == TokenKind.Integer
        ? (object)long.Parse(t.Text, CultureInfo.InvariantCulture)
        : double.Parse(t.Text, CultureInfo.InvariantCulture);
}
