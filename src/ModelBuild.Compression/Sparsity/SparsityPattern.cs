using System.Globalization;

namespace ModelBuild.Compression.Sparsity;

/// <summary>Unstructured (a fraction of each row pruned) or N:M (N kept in every M consecutive input columns).</summary>
public sealed record SparsityPattern(double Fraction, int N = 0, int M = 0)
{
    public bool IsNM => M > 0;

    public override string ToString() => IsNM ? $"{N}:{M}" : $"{Fraction * 100:G4}%";

    /// <summary>Parses "50%", "0.5", "2:4" or "4:8"; null when the text is not a valid pattern.</summary>
    public static SparsityPattern? TryParse(string text)
    {
        text = text.Trim();
        int colon = text.IndexOf(':');
        if (colon > 0)
        {
            if (int.TryParse(text[..colon], out int n) && int.TryParse(text[(colon + 1)..], out int m) && n > 0 && m > n && m <= 64)
                return new SparsityPattern(1.0 - (double)n / m, n, m);
            return null;
        }
        bool percent = text.EndsWith('%');
        if (!double.TryParse(percent ? text[..^1] : text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)) return null;
        if (percent) v /= 100;
        return v > 0 && v < 1 ? new SparsityPattern(v) : null;
    }
}
