using ModelBuild.Tests;

namespace ModelBuild.Tasks.Tests;

public class CompressModelTaskTests
{
    private static string Cli => Path.Combine(AppContext.BaseDirectory, "modelbuild.dll");

    [Fact]
    public void Spec_errors_from_the_CLI_become_MSBuild_errors_at_the_yaml_line()
    {
        using var dir = new RepoPaths.TempDir();
        File.WriteAllText(dir.File("m.yaml"), "stages:\n  - quantize: { method: rtn, bits: 6 }\n");
        var engine = new RecordingBuildEngine();
        var task = new CompressModel
        {
            BuildEngine = engine, CliPath = Cli, ProjectDirectory = dir.Path,
            ModelDirectory = RepoPaths.FixtureModel, SpecFile = dir.File("m.yaml"), OutputPack = dir.File("m.mbpack"),
        };
        Assert.False(task.Execute());
        var error = Assert.Single(engine.Errors, e => e.Code == "MB1103");
        Assert.Equal(dir.File("m.yaml"), error.File);
        Assert.Equal(2, error.LineNumber);
        Assert.Contains("bits must be 2, 3, 4 or 8", error.Message);
        Assert.False(File.Exists(dir.File("m.mbpack")));
    }

    [Fact]
    public void A_good_spec_produces_the_pack_and_progress_messages()
    {
        using var dir = new RepoPaths.TempDir();
        File.WriteAllText(dir.File("m.yaml"), "stages:\n  - quantize: { method: rtn, bits: 8, group_size: 64 }\n");
        var engine = new RecordingBuildEngine();
        var task = new CompressModel
        {
            BuildEngine = engine, CliPath = Cli, ProjectDirectory = dir.Path,
            ModelDirectory = RepoPaths.FixtureModel, SpecFile = "m.yaml", OutputPack = "out/m.mbpack",
        };
        Assert.True(task.Execute(), string.Join("\n", engine.Errors.Select(e => e.Message)));
        Assert.True(File.Exists(dir.File("out/m.mbpack")), "relative paths resolve against ProjectDirectory");
        Assert.Contains(engine.Messages, m => m.Message?.Contains("block 6/6") == true);
    }

    [Fact]
    public void A_missing_CLI_is_MB1000_with_a_hint()
    {
        var engine = new RecordingBuildEngine();
        var task = new CompressModel
        {
            BuildEngine = engine, CliPath = "/nope/modelbuild.dll", ProjectDirectory = "/",
            ModelDirectory = "m", SpecFile = "s", OutputPack = "o",
        };
        Assert.False(task.Execute());
        Assert.Equal("MB1000", Assert.Single(engine.Errors).Code);
    }

    [Fact]
    public void WriteModelBinding_writes_the_manifest_the_generator_reads()
    {
        using var dir = new RepoPaths.TempDir();
        var engine = new RecordingBuildEngine();
        var task = new WriteModelBinding
        {
            BuildEngine = engine, CliPath = Cli, ProjectDirectory = dir.Path, ModelDirectory = RepoPaths.FixtureModel,
            ClassName = "FortuneModel", Namespace = "Demo", PackFileName = "tiny.mbpack", OutputFile = "b.mbbinding",
        };
        Assert.True(task.Execute());
        string text = File.ReadAllText(dir.File("b.mbbinding"));
        Assert.Contains("class_name=FortuneModel\n", text);
        Assert.Contains("vocab_size=2048\n", text);
        Assert.Contains("num_layers=6\n", text);
    }
}
