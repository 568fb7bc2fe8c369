using System.Collections;
using System.Globalization;
using System.Text;

namespace ModelBuild.Runtime.Chat.Jinja;

/// <summary>A name with no value: renders as nothing, is false, and `is defined` says no.</summary>
internal sealed class Undefined
{
    public static Undefined Value { get; } = new();
    private Undefined() { }
}

/// <summary>namespace(...): the one object a template may change from inside a loop.</summary>
internal sealed class JinjaNamespace : Dictionary<string, object?>
{
    public JinjaNamespace() : base(StringComparer.Ordinal) { }
}

/// <summary>
/// Values follow Python's, as Jinja's do: strings, long, double, bool, null (None), lists and string-keyed
/// dictionaries. These are the operators, filters, tests, functions and methods chat templates use.
/// </summary>
internal static class JinjaValues
{
    public static bool IsTrue(object? v) => v switch
    {
        null or Undefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        ICollection c => c.Count > 0,
        _ => true,
    };

    public static string ToText(object? v) => v switch
    {
        Undefined => "",
        null => "None",
        bool b => b ? "True" : "False",
        string s => s,
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => d.ToString("0.0###############", CultureInfo.InvariantCulture),
        _ => ToJson(v, null, 0, python: true),
    };

    public static string TypeName(object? v) => v switch
    {
        Undefined => "undefined", null => "none", string => "string", bool => "boolean", long => "integer", double => "float",
        IDictionary => "mapping", IList => "list", _ => v.GetType().Name,
    };

    public static IEnumerable<object?> Iterate(object? v) => v switch
    {
        null or Undefined => [],
        string s => s.Select(c => (object?)c.ToString()),
        IDictionary<string, object?> d => d.Keys,
        IEnumerable<object?> e => e,
        _ => throw new JinjaException($"cannot iterate over {TypeName(v)}"),
    };

    public static object? GetMember(object? target, object? key)
    {
        switch (target)
        {
            case IDictionary<string, object?> d when key is string name:
                return d.TryGetValue(name, out var v) ? v : Undefined.Value;
            case IList<object?> list when key is long index:
                long at = index < 0 ? list.Count + index : index;
                return at >= 0 && at < list.Count ? list[(int)at] : Undefined.Value;
            case string s when key is long index:
                long pos = index < 0 ? s.Length + index : index;
                return pos >= 0 && pos < s.Length ? s[(int)pos].ToString() : Undefined.Value;
            default:
                return Undefined.Value;
        }
    }

    public static object? Slice(object? target, object? start, object? stop, object? step)
    {
        var items = target is string s ? s.Select(c => (object?)c.ToString()).ToList() : Iterate(target).ToList();
        long n = items.Count, by = step is long st ? st : 1;
        if (by == 0) throw new JinjaException("slice step cannot be zero");
        long Clamp(object? v, long fallback)
        {
            if (v is not long x) return fallback;
            if (x < 0) x += n;
            return by > 0 ? Math.Clamp(x, 0, n) : Math.Clamp(x, -1, n - 1);
        }
        long from = Clamp(start, by > 0 ? 0 : n - 1), to = Clamp(stop, by > 0 ? n : -1);
        var result = new List<object?>();
        for (long i = from; by > 0 ? i < to : i > to; i += by) result.Add(items[(int)i]);
        return target is string ? string.Concat(result.Select(ToText)) : result;
    }

    public static object? Binary(string op, object? l, object? r)
    {
        switch (op)
        {
            case "~": return ToText(l) + ToText(r);
            case "==": return AreEqual(l, r);
            case "!=": return !AreEqual(l, r);
            case "in": return Contains(r, l);
            case "not in": return !Contains(r, l);
            case "<" or ">" or "<=" or ">=":
                int c = l is string ls && r is string rs ? string.CompareOrdinal(ls, rs) : ToDouble(l).CompareTo(ToDouble(r));
                return op switch { "<" => c < 0, ">" => c > 0, "<=" => c <= 0, _ => c >= 0 };
            case "+" when l is string || r is string:
                if (l is not string || r is not string) throw new JinjaException($"cannot add {TypeName(l)} and {TypeName(r)}");
                return (string)l + (string)r;
            case "+" when l is IList<object?> a && r is IList<object?> b:
                return a.Concat(b).ToList();
            case "*" when l is string text && r is long times:
                return string.Concat(Enumerable.Repeat(text, (int)Math.Max(0, times)));
        }
        if (l is long x && r is long y)
            return op switch // object arms: a long switch with one double arm would make every result a double
            {
                "+" => (object)(x + y), "-" => x - y, "*" => x * y, "/" => (double)x / y,
                "//" => y == 0 ? throw new JinjaException("division by zero") : (long)Math.Floor((double)x / y),
                "%" => y == 0 ? throw new JinjaException("division by zero") : ((x % y) + y) % y,
                _ => throw new JinjaException($"unknown operator '{op}'"),
            };
        double p = ToDouble(l), q = ToDouble(r);
        return op switch
        {
            "+" => p + q, "-" => p - q, "*" => p * q, "/" => p / q, "//" => Math.Floor(p / q), "%" => p - q * Math.Floor(p / q),
            _ => throw new JinjaException($"unknown operator '{op}'"),
        };
    }

    private static double ToDouble(object? v) => v switch
    {
        long l => l, double d => d, bool b => b ? 1 : 0,
        _ => throw new JinjaException($"expected a number, got {TypeName(v)}"),
    };

    private static bool AreEqual(object? l, object? r) => (l, r) switch
    {
        (null, null) or (Undefined, Undefined) => true,
        (long a, double b) => a == b,
        (double a, long b) => a == b,
        (string a, string b) => a == b,
        _ => Equals(l, r),
    };

    private static bool Contains(object? container, object? item) => container switch
    {
        string s => item is string sub && s.Contains(sub, StringComparison.Ordinal),
        IDictionary<string, object?> d => item is string key && d.ContainsKey(key),
        _ => Iterate(container).Any(x => AreEqual(x, item)),
    };

    public static bool ApplyTest(string name, object? v, List<object?> args) => name switch
    {
        "defined" => v is not Undefined,
        "undefined" => v is Undefined,
        "none" => v is null,
        "string" => v is string,
        "number" => v is long or double,
        "integer" => v is long,
        "float" => v is double,
        "boolean" => v is bool,
        "true" => v is true,
        "false" => v is false,
        "mapping" => v is IDictionary,
        "sequence" or "iterable" => v is string or IList or IDictionary,
        "even" => v is long e && e % 2 == 0,
        "odd" => v is long o && o % 2 != 0,
        "equalto" or "eq" or "==" => args.Count == 1 && AreEqual(v, args[0]),
        "ne" or "!=" => args.Count == 1 && !AreEqual(v, args[0]),
        "in" => args.Count == 1 && Contains(args[0], v),
        _ => throw new JinjaException($"unsupported test '{name}'"),
    };

    public static object? ApplyFilter(string name, object? v, List<object?> args, Dictionary<string, object?> named)
    {
        object? Arg(int i, string key, object? fallback) => i < args.Count ? args[i] : named.TryGetValue(key, out var x) ? x : fallback;
        switch (name)
        {
            case "trim": return ToText(v).Trim();
            case "upper": return ToText(v).ToUpperInvariant();
            case "lower": return ToText(v).ToLowerInvariant();
            case "capitalize": string t = ToText(v); return t.Length == 0 ? t : char.ToUpperInvariant(t[0]) + t[1..].ToLowerInvariant();
            case "string": return ToText(v);
            case "safe": return v; // no autoescaping here, as in transformers' chat templates
            case "length" or "count": return v is string s ? (long)s.Length : (long)Iterate(v).Count();
            case "first": return Iterate(v).DefaultIfEmpty(Undefined.Value).First();
            case "last": return Iterate(v).DefaultIfEmpty(Undefined.Value).Last();
            case "list": return Iterate(v).ToList();
            case "reverse": return v is string r ? new string(r.Reverse().ToArray()) : Iterate(v).Reverse().ToList();
            case "join": return string.Join(ToText(Arg(0, "d", "")), Iterate(v).Select(ToText));
            case "replace": return ToText(v).Replace(ToText(Arg(0, "old", "")), ToText(Arg(1, "new", "")), StringComparison.Ordinal);
            case "int": return v is long ? v : v is double d ? (long)d : long.TryParse(ToText(v), NumberStyles.Integer, CultureInfo.InvariantCulture, out long l) ? l : 0L;
            case "items": return v is IDictionary<string, object?> m ? m.Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList() : new List<object?>();
            case "default" or "d":
                bool boolean = IsTrue(Arg(1, "boolean", false));
                return v is Undefined || (boolean && !IsTrue(v)) ? Arg(0, "default_value", "") : v;
            case "tojson":
                return ToJson(v, Arg(0, "indent", null) is long indent ? (int)indent : null, 0, python: false);
            case "selectattr" or "rejectattr":
                string attribute = ToText(Arg(0, "attr", ""));
                string test = args.Count > 1 ? ToText(args[1]) : "true";
                bool keep = name == "selectattr";
                return Iterate(v).Where(item =>
                {
                    object? member = GetMember(item, attribute);
                    bool passes = args.Count > 1 ? ApplyTest(test, member, args.Skip(2).ToList()) : IsTrue(member);
                    return passes == keep;
                }).ToList();
            case "map":
                string mapped = named.TryGetValue("attribute", out var a) ? ToText(a) : throw new JinjaException("map() needs attribute=");
                return Iterate(v).Select(item => GetMember(item, mapped)).ToList();
            default:
                throw new JinjaException($"unsupported filter '{name}'");
        }
    }

    public static object? CallFunction(string name, List<object?> args, Dictionary<string, object?> named)
    {
        switch (name)
        {
            case "raise_exception":
                throw new JinjaException("the chat template rejected the conversation: " + ToText(args.FirstOrDefault()), raisedByTemplate: true);
            case "range":
                long start = args.Count > 1 ? (long)args[0]! : 0, stop = (long)args[args.Count > 1 ? 1 : 0]!, step = args.Count > 2 ? (long)args[2]! : 1;
                var range = new List<object?>();
                for (long i = start; step > 0 ? i < stop : i > stop; i += step) range.Add(i);
                return range;
            case "namespace":
                var ns = new JinjaNamespace();
                foreach (var kv in named) ns[kv.Key] = kv.Value;
                return ns;
            case "strftime_now":
                return StrftimeNow(ToText(args.FirstOrDefault()));
            default:
                throw new JinjaException($"unsupported function '{name}'");
        }
    }

    public static object? CallMethod(object? target, string method, List<object?> args)
    {
        string Text(int i) => ToText(args[i]);
        if (target is string s)
            return method switch
            {
                "strip" => args.Count > 0 ? s.Trim(Text(0).ToCharArray()) : s.Trim(),
                "lstrip" => args.Count > 0 ? s.TrimStart(Text(0).ToCharArray()) : s.TrimStart(),
                "rstrip" => args.Count > 0 ? s.TrimEnd(Text(0).ToCharArray()) : s.TrimEnd(),
                "upper" => s.ToUpperInvariant(),
                "lower" => s.ToLowerInvariant(),
                "startswith" => s.StartsWith(Text(0), StringComparison.Ordinal),
                "endswith" => s.EndsWith(Text(0), StringComparison.Ordinal),
                "replace" => s.Replace(Text(0), Text(1), StringComparison.Ordinal),
                "split" => (args.Count > 0 ? s.Split(Text(0)) : s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)).Select(p => (object?)p).ToList(),
                "title" => CultureInfo.InvariantCulture.TextInfo.ToTitleCase(s.ToLowerInvariant()),
                _ => throw new JinjaException($"unsupported string method '{method}'"),
            };
        if (target is IDictionary<string, object?> d)
            return method switch
            {
                "get" => d.TryGetValue(Text(0), out var v) ? v : args.Count > 1 ? args[1] : null,
                "items" => d.Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList(),
                "keys" => d.Keys.Select(k => (object?)k).ToList(),
                "values" => d.Values.ToList(),
                _ => throw new JinjaException($"unsupported mapping method '{method}'"),
            };
        throw new JinjaException($"{TypeName(target)} has no method '{method}'");
    }

    /// <summary>JSON as Python's json.dumps writes it (", " and ": " separators); python: repr-style quotes for str().</summary>
    private static string ToJson(object? v, int? indent, int depth, bool python)
    {
        string Quote(string s) => python ? "'" + s.Replace("\\", "\\\\").Replace("'", "\\'") + "'" : System.Text.Json.JsonSerializer.Serialize(s,
            new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        string Break(int d) => indent is int n ? "\n" + new string(' ', n * d) : "";
        string separator = indent is null ? ", " : ",";
        switch (v)
        {
            case null or Undefined: return python ? "None" : "null";
            case bool b: return python ? (b ? "True" : "False") : (b ? "true" : "false");
            case string s: return Quote(s);
            case long or double: return ToText(v);
            case IDictionary<string, object?> d:
                if (d.Count == 0) return "{}";
                return "{" + string.Join(separator, d.Select(kv => Break(depth + 1) + Quote(kv.Key) + ": " + ToJson(kv.Value, indent, depth + 1, python))) + Break(depth) + "}";
            case IEnumerable<object?> list:
                var items = list.ToList();
                if (items.Count == 0) return "[]";
                return "[" + string.Join(separator, items.Select(i => Break(depth + 1) + ToJson(i, indent, depth + 1, python))) + Break(depth) + "]";
            default: return Quote(v.ToString() ?? "");
        }
    }

    private static string StrftimeNow(string format)
    {
        var now = DateTime.Now;
        var sb = new StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 >= format.Length) { sb.Append(format[i]); continue; }
            char f = format[++i];
            sb.Append(f switch
            {
                'd' => now.ToString("dd", CultureInfo.InvariantCulture), 'm' => now.ToString("MM", CultureInfo.InvariantCulture),
                'Y' => now.ToString("yyyy", CultureInfo.InvariantCulture), 'y' => now.ToString("yy", CultureInfo.InvariantCulture),
                'b' => now.ToString("MMM", CultureInfo.InvariantCulture), 'B' => now.ToString("MMMM", CultureInfo.InvariantCulture),
                'H' => now.ToString("HH", CultureInfo.InvariantCulture), 'M' => now.ToString("mm", CultureInfo.InvariantCulture),
                'S' => now.ToString("ss", CultureInfo.InvariantCulture), '%' => "%",
                _ => "%" + f,
            });
        }
        return sb.ToString();
    }
}
