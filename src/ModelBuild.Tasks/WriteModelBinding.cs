using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace ModelBuild.Tasks;

/// <summary>Writes the small binding manifest the source generator reads: `modelbuild binding`. Cheap: reads config.json only.</summary>
public sealed class WriteModelBinding : ModelBuildToolTask
{
    [Required] public string ModelDirectory { get; set; } = "";
    [Required] public string ClassName { get; set; } = "";
    public string? Namespace { get; set; }
    [Required] public string PackFileName { get; set; } = "";
    [Required] public string OutputFile { get; set; } = "";
    /// <summary>The compression report, when the build made one: its facts go into the generated doc comments.</summary>
    public string? ReportFile { get; set; }
    /// <summary>The pack is embedded in the assembly (Embed="true" on the item) rather than copied beside it.</summary>
    public bool Embed { get; set; }

    protected override void AppendArguments(CommandLineBuilder b)
    {
        b.AppendSwitch("binding");
        b.AppendFileNameIfNotNull(ModelDirectory);
        b.AppendSwitchIfNotNull("--class-name ", ClassName);
        if (!string.IsNullOrEmpty(Namespace)) b.AppendSwitchIfNotNull("--namespace ", Namespace);
        b.AppendSwitchIfNotNull("--pack-file ", PackFileName);
        if (Embed) b.AppendSwitch("--embed");
        b.AppendSwitchIfNotNull("--report ", ReportFile);
        b.AppendSwitchIfNotNull("-o ", OutputFile);
    }

    protected override MessageImportance StandardOutputLoggingImportance => MessageImportance.Low;
}
