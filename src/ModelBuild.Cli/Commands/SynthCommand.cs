using ModelBuild.Compression.Synthesis;

namespace ModelBuild.Cli.Commands;

/// <summary>synth: a random-weight checkpoint with a real architecture's shape, for speed work only.</summary>
public static class SynthCommand
{
    public static int Run(IEnumerable<string> args)
    {
        var cl = new CommandLine(args, new[] { "--preset", "-o", "--seed" }, Array.Empty<string>());
        string name = cl.Require("--preset");
        SynthPreset preset;
        try { preset = SynthPreset.Find(name); }
        catch (ArgumentException e) { throw CommandLine.Usage(e.Message); }
        string output = cl.Require("-o");
        SyntheticCheckpoint.Write(preset, output, cl.Int("--seed", 0), Console.Error.WriteLine);
        Console.WriteLine($"wrote {preset.Name} ({preset.ParameterCount / 1e9:F2}B parameters, random weights: for speed work, not quality) to {output}");
        return 0;
    }
}
