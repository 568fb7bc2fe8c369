using ModelBuild.Cli.Commands;
using ModelBuild.Compression.Diagnostics;
using ModelBuild.Format.Pack;

namespace ModelBuild.Cli;

public static class Program
{
    public const string Usage = """
        modelbuild — compress models at build time and run them.

          compress <model-dir> --spec <yaml> -o <file.mbpack> [--report <file.json>] [--no-cache]
          inspect  <pack> [--json]
          verify   <pack>
          eval     <model-dir|pack> --text <file> [--json] [--window N] [--max-tokens N] [--no-mmap]
          generate <model-dir|pack> --prompt <text> [--max-tokens N] [--seed S] [--temperature T] [--top-k K] [--top-p P] [--no-mmap]
          bench    <model-dir|pack> [--threads N] [--prompt-tokens N] [--decode-tokens N] [--decode-depth N] [--kernels auto|scalar|avx2|avx512] [--no-mmap] [--json]
          bench    <model-dir|pack> --versus <model-dir|pack> [--rounds N] [--decode-tokens N] [--threads N] [--no-mmap] [--json]   (decode of two models in one process, round by round)
          synth    --preset <name> -o <dir> [--seed S] [--dtype f16|bf16|f32]   (presets: tinyllama-1.1b, llama-3.2-1b, tiny)
          binding  <model-dir> --class-name <Name> [--namespace <Ns>] --pack-file <name> [--embed] -o <file.mbbinding>
        """;

    public static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
        {
            Console.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        try
        {
            var rest = args.Skip(1);
            return args[0] switch
            {
                "compress" => CompressCommand.Run(rest),
                "inspect" => InspectCommand.Run(rest),
                "verify" => VerifyCommand.Run(rest),
                "eval" => EvalCommand.Run(rest),
                "generate" => GenerateCommand.Run(rest),
                "binding" => BindingCommand.Run(rest),
                "bench" => BenchCommand.Run(rest),
                "synth" => SynthCommand.Run(rest),
                _ => throw CommandLine.Usage($"unknown command '{args[0]}'."),
            };
        }
        catch (Exception e)
        {
            var (exitCode, message) = Report(e, Environment.GetEnvironmentVariable("MODELBUILD_DEBUG") == "1");
            Console.Error.WriteLine(message);
            return exitCode;
        }
    }

    /// <summary>
    /// An exception as the user sees it: bad input is exit code 1 with an MB code and no stack trace; anything
    /// else is a bug of ours, MB1999 with exit code 3 (the trace only when asked for).
    /// </summary>
    public static (int ExitCode, string Message) Report(Exception e, bool debug = false)
    {
        switch (e)
        {
            case ModelBuildException mb:
                return (1, mb.ToCanonical());
            case PackFormatException pack:
                return (1, $"{pack.PackPath}: error {ErrorCodes.InvalidPack}: {pack.Message}");
            case IOException or InvalidDataException or FormatException or NotSupportedException or UnauthorizedAccessException or KeyNotFoundException:
                string code = e is FileNotFoundException or DirectoryNotFoundException ? ErrorCodes.ModelNotFound
                    : e is NotSupportedException ? ErrorCodes.UnsupportedArchitecture : ErrorCodes.InvalidCheckpoint;
                return (1, $"modelbuild: error {code}: {e.Message}");
            default:
                string text = $"modelbuild: error {ErrorCodes.InternalError}: internal error: {e.GetType().Name}: {e.Message} Hint: set MODELBUILD_DEBUG=1 for details and report this.";
                return (3, debug ? text + Environment.NewLine + e : text);
        }
    }
}
