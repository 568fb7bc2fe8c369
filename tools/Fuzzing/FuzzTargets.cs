using ModelBuild.Compression.Diagnostics;
using ModelBuild.Compression.Ingestion;
using ModelBuild.Compression.Spec;
using ModelBuild.Format.Config;
using ModelBuild.Format.Pack;
using ModelBuild.Runtime;
using ModelBuild.Runtime.Tokenization;

namespace ModelBuild.Fuzzing;

/// <summary>
/// One reader of untrusted input: what it does with the bytes, and the exceptions that are its documented way of
/// rejecting them (anything else is a crash). Shared by the AFL++ harness and the mutation and corpus tests.
/// </summary>
public sealed record FuzzTarget(string Name, Action<byte[]> Read, params Type[] Rejections)
{
    /// <summary>Runs the reader; true if it accepted or rejected the input properly, false (with the exception) if it crashed.</summary>
    public bool TryRead(byte[] input, out Exception? crash)
    {
        crash = null;
        try { Read(input); return true; }
        catch (Exception e) when (Rejections.Any(t => t.IsInstanceOfType(e))) { return true; }
        catch (Exception e) { crash = e; return false; }
    }
}

public static class FuzzTargets
{
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new("safetensors", ReadSafetensors, typeof(InvalidDataException), typeof(KeyNotFoundException)),
        new("pack", bytes => LoadPack(bytes, verifyChecksums: true), typeof(PackFormatException)),
        // Checksums catch nearly every change; without them the structural checks alone must hold.
        new("pack-unverified", bytes => LoadPack(bytes, verifyChecksums: false), typeof(PackFormatException)),
        new("config", bytes => LlamaConfig.Parse(Utf8(bytes)), typeof(FormatException), typeof(NotSupportedException)),
        new("tokenizer", bytes => ModelTokenizer.FromJson(Utf8(bytes), 1, 2).Encode("Hello there."), typeof(FormatException), typeof(NotSupportedException)),
        new("spec", bytes => SpecParser.Parse(Utf8(bytes), "fuzz.yaml"), typeof(ModelBuildException)),
    ];

    public static FuzzTarget Find(string name) =>
        All.FirstOrDefault(t => t.Name == name) ?? throw new ArgumentException($"unknown target '{name}'; targets: {string.Join(", ", All.Select(t => t.Name))}.");

    private static string Utf8(byte[] bytes) => System.Text.Encoding.UTF8.GetString(bytes);

    private static void LoadPack(byte[] bytes, bool verifyChecksums)
    {
        using var stream = new MemoryStream(bytes, writable: false);
        CausalLanguageModel.Load(stream, "fuzz.mbpack", new LoadOptions { VerifyChecksums = verifyChecksums }).Dispose();
    }

    // The safetensors reader maps files by path, so each input goes through one scratch file per process.
    private static readonly string ScratchFile = Path.Combine(Path.GetTempPath(), $"modelbuild-fuzz-{Environment.ProcessId}.safetensors");

    private static void ReadSafetensors(byte[] bytes)
    {
        File.WriteAllBytes(ScratchFile, bytes);
        var file = SafetensorsFile.Open(ScratchFile);
        foreach (var name in file.Entries.Keys) file.ReadFloat(name);
    }
}
