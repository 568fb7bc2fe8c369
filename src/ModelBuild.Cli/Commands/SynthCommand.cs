using ModelBuild.Compression.Ingestion;
using ModelBuild.Compression.Synthesis;

namespace ModelBuild.Cli.Commands;

/// <summary>synth: a random-weight checkpoint with a real architecture's shape, for speed work only.</summary>
public static class SynthCommand
{
    public static int Run(IEnumerable<string> args)
    {
        var cl = new CommandLine(args, new[] { "--preset", "-o", "--seed", "--dtype" }, Array.Empty<string>());
        string name = cl.Require("--preset");
        SynthPreset preset;
        try { preset = SynthPreset.Find(name); }
        catch (ArgumentException e) { throw CommandLine.Usage(e.Message); }
        string output = cl.Require("-o");
        string dtypeName = cl.Get("--dtype") ?? "f16";
        if (!TensorDTypes.TryParseSafetensors(dtypeName.ToUpperInvariant(), out var dtype))
            throw CommandLine.Usage($"--dtype {dtypeName} is not one of f16, bf16, f32.");
        SyntheticCheckpoint.Write(preset, output, cl.Int("--seed", 0), Console.Error.WriteLine, dtype);
        Console.WriteLine($"wrote {preset.Name} ({preset.ParameterCount / 1e9:F2}B parameters, random weights: for speed work, not quality) to {output}");
        return 0;
    }
}
