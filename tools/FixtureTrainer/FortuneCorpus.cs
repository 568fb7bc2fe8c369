using System.Text;

namespace ModelBuild.Tools.FixtureTrainer;

/// <summary>Reads the English fortunes (one per '%' separator) and splits them deterministically.</summary>
public static class FortuneCorpus
{
    private static readonly HashSet<string> Skipped = new() { "ascii-art", "translate-me" };

    public static List<string> Read(string dir)
    {
        var result = new List<string>();
        foreach (var file in Directory.GetFiles(dir).Where(f => !Path.HasExtension(f) && !Skipped.Contains(Path.GetFileName(f))).Order(StringComparer.Ordinal))
        {
            var current = new StringBuilder();
            foreach (var line in File.ReadLines(file, Encoding.UTF8))
            {
                if (line == "%")
                {
                    Add(result, current.ToString());
                    current.Clear();
                }
                else current.Append(line.TrimEnd()).Append('\n');
            }
            Add(result, current.ToString());
        }
        return result;
    }

    private static void Add(List<string> list, string fortune)
    {
        fortune = fortune.Trim('\n');
        if (fortune.Trim().Length > 0) list.Add(fortune);
    }

    /// <summary>Every 40th fortune is held out for evaluation, the one after it for calibration.</summary>
    public static (List<string> Train, List<string> Eval, List<string> Calibration) Split(List<string> fortunes)
    {
        var train = new List<string>(); var eval = new List<string>(); var calib = new List<string>();
        for (int i = 0; i < fortunes.Count; i++)
            (i % 40 == 0 ? eval : i % 40 == 1 ? calib : train).Add(fortunes[i]);
        return (train, eval, calib);
    }
}
