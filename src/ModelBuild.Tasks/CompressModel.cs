using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace ModelBuild.Tasks;

/// <summary>Compresses one model directory per its spec into a pack: `modelbuild compress`.</summary>
public sealed class CompressModel : ModelBuildToolTask
{
    [Required] public string ModelDirectory { get; set; } = "";
    [Required] public string SpecFile { get; set; } = "";
    [Required] public string OutputPack { get; set; } = "";
    public string? ReportFile { get; set; }

    protected override void AppendArguments(CommandLineBuilder b)
    {
        b.AppendSwitch("compress");
        b.AppendFileNameIfNotNull(ModelDirectory);
        b.AppendSwitchIfNotNull("--spec ", SpecFile);
        b.AppendSwitchIfNotNull("-o ", OutputPack);
        b.AppendSwitchIfNotNull("--report ", ReportFile);
    }
}
