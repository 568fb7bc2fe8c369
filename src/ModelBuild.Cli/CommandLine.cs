using ModelBuild.Compression.Diagnostics;

namespace ModelBuild.Cli;

/// <summary>Positional arguments and --options of one verb; unknown options are errors.</summary>
public sealed class CommandLine
{
    private readonly Dictionary<string, string?> _options = new(StringComparer.Ordinal);
    public List<string> Positional { get; } = new();

    public CommandLine(IEnumerable<string> args, IReadOnlyCollection<string> valueOptions, IReadOnlyCollection<string> flags)
    {
        var list = args.ToList();
        for (int i = 0; i < list.Count; i++)
        {
            string a = list[i];
            if (a.StartsWith('-') && a.Length > 1)
            {
                if (flags.Contains(a)) _options[a] = null;
                else if (valueOptions.Contains(a))
                {
                    if (i + 1 >= list.Count) throw Usage($"option {a} needs a value.");
                    _options[a] = list[++i];
                }
                else throw Usage($"unknown option {a}; options here: {string.Join(", ", valueOptions.Concat(flags))}.");
            }
            else Positional.Add(a);
        }
    }

    public static ModelBuildException Usage(string message) => new(ErrorCodes.InvalidArguments, message, hint: "run `modelbuild help` for usage.");

    public bool Has(string name) => _options.ContainsKey(name);
    public string? Get(string name) => _options.GetValueOrDefault(name);
    public string Require(string name) => Get(name) ?? throw Usage($"option {name} is required.");

    public int Int(string name, int fallback) =>
        Get(name) is { } s ? int.TryParse(s, out int v) ? v : throw Usage($"{name} must be an integer (got '{s}').") : fallback;

    public float Float(string name, float fallback) =>
        Get(name) is { } s ? float.TryParse(s, System.Globalization.CultureInfo.InvariantCulture, out float v) ? v : throw Usage($"{name} must be a number (got '{s}').") : fallback;

    /// <summary>--kernels auto|scalar|avx2|avx512|ilgpu|cuda: where products run; an unsupported choice is an error.</summary>
    public Runtime.Kernels.KernelPath Kernels()
    {
        string value = Get("--kernels") ?? "auto";
        if (!Enum.TryParse<Runtime.Kernels.KernelPath>(value, ignoreCase: true, out var path) || !Enum.IsDefined(path))
            throw Usage($"--kernels must be one of auto, scalar, avx2, avx512, ilgpu, cuda (got '{value}').");
        if (path == Runtime.Kernels.KernelPath.Cuda && !Runtime.Kernels.KernelPaths.IsSupported(path))
            throw Usage("no CUDA GPU is available here; omit --kernels to use the best CPU kernels.");
        if (!Runtime.Kernels.KernelPaths.IsSupported(path))
            throw Usage($"this CPU cannot run the {value} kernels; the best it runs is {Runtime.Kernels.KernelPaths.Best.ToString().ToLowerInvariant()}.");
        return path;
    }

    public string Positional0(string what) => Positional.Count > 0 ? Positional[0] : throw Usage($"missing {what}.");
}
