using ModelBuild.Tests;

namespace ModelBuild.EndToEnd.Tests;

/// <summary>A user's project: a csproj with a &lt;CompressedModel&gt; item, built with `dotnet build`, then run.</summary>
[Trait("Category", "Slow")]
public class BuildTests
{
    /// <summary>A console app csproj with the given &lt;CompressedModel&gt; items, importing the in-repo targets.</summary>
    private static string ProjectXml(string items) =>
        ConsoleProject.Xml("App", items, $"""<Import Project="{Path.Combine(RepoPaths.Root, "eng", "ModelBuild.InRepo.targets")}" />""");

    private static void WriteProject(RepoPaths.TempDir dir, string spec, string classAttributes = "ClassName=\"FortuneModel\"", string project = "App")
    {
        Directory.CreateDirectory(dir.File(project == "App" ? "." : project));
        string folder = project == "App" ? dir.Path : dir.File(project);
        File.WriteAllText(Path.Combine(folder, project + ".csproj"),
            ProjectXml($"""<CompressedModel Include="{RepoPaths.FixtureModel}" Spec="model.compress.yaml" {classAttributes} />"""));
        File.WriteAllText(Path.Combine(folder, "model.compress.yaml"), spec);
        File.WriteAllText(Path.Combine(folder, "Program.cs"), """
            using App;
            using Microsoft.Extensions.AI;
            using var model = FortuneModel.Load();
            Console.WriteLine($"vocab={FortuneModel.VocabSize} context={FortuneModel.ContextLength}");
            Console.WriteLine("text=" + model.Generate("The meaning of life is", new ModelBuild.Runtime.GenerationOptions { MaxTokens = 20, Seed = 1 }));
            IChatClient chat = model.AsChatClient();
            var reply = await chat.GetResponseAsync("Tell me a fortune.", new ChatOptions { MaxOutputTokens = 8, Temperature = 0 });
            Console.WriteLine("chat=" + reply.Text.Length);
            Console.WriteLine("chat2=" + model.Chat([new ChatMessage(ChatRole.User, "Tell me a fortune.")], new() { MaxTokens = 8, Temperature = 0 }).Length);
            using var scalar = FortuneModel.Load(new ModelBuild.Runtime.LoadOptions { Kernels = ModelBuild.Runtime.Kernels.KernelPath.Scalar });
            Console.WriteLine("same=" + (scalar.Generate("The meaning of life is", new ModelBuild.Runtime.GenerationOptions { MaxTokens = 12, Temperature = 0 })
                == model.Generate("The meaning of life is", new ModelBuild.Runtime.GenerationOptions { MaxTokens = 12, Temperature = 0 })));
            """);
    }

    // Each test has its own compression cache, so whether a build compresses depends only on the test.
    private static ProcessRunner.Result Build(RepoPaths.TempDir dir, params string[] extra) => BuildPath(dir, dir.File("App.csproj"), extra);

    private static ProcessRunner.Result BuildPath(RepoPaths.TempDir dir, string path, params string[] extra) =>
        ProcessRunner.Run("dotnet", new[] { "build", path, "-v:n", "-nologo" }.Concat(extra), dir.Path, TimeSpan.FromMinutes(15),
            new Dictionary<string, string> { ["MODELBUILD_CACHE_DIR"] = dir.File("cache") });

    [Fact]
    public void Build_compresses_generates_and_runs_and_a_second_build_does_not_compress_again()
    {
        using var dir = new RepoPaths.TempDir();
        WriteProject(dir, "stages:\n  - quantize: { method: rtn, bits: 4, group_size: 128 }\n");

        var first = Build(dir);
        Assert.True(first.ExitCode == 0, first.All);
        Assert.Contains("block 6/6", first.StdOut);
        string output = dir.File("bin/Debug/net10.0");
        Assert.True(File.Exists(Path.Combine(output, "tiny-fortunes.mbpack")), "the pack is copied to the output directory");
        string binding = Directory.GetFiles(dir.Path, "*.mbbinding", SearchOption.AllDirectories).Single();
        Assert.Contains("compression=quantize rtn int4 g128", File.ReadAllText(binding)); // the report's facts reach the generated docs
        Assert.Contains("pack_bytes=", File.ReadAllText(binding));

        var run = ProcessRunner.Run("dotnet", new[] { Path.Combine(output, "App.dll") }, output);
        Assert.True(run.ExitCode == 0, run.All);
        Assert.Contains("vocab=2048 context=512", run.StdOut);
        string text = run.StdOut[(run.StdOut.IndexOf("text=", StringComparison.Ordinal) + "text=".Length)..].Trim();
        Assert.True(text.Length > 10, run.StdOut);
        Assert.Matches(@"chat=[1-9]\d*", run.StdOut); // the generated class plugs into Microsoft.Extensions.AI
        Assert.Matches(@"chat2=\d+", run.StdOut); // and has a Chat method of its own
        Assert.Contains("same=True", run.StdOut); // LoadOptions picks the kernels; greedy text agrees

        var second = Build(dir);
        Assert.True(second.ExitCode == 0, second.All);
        Assert.DoesNotContain("block 1/6", second.StdOut);
        Assert.Contains("Skipping target \"ModelBuildCompress\"", second.StdOut);

        // Changing the spec is an input change: the model is compressed again.
        File.WriteAllText(dir.File("model.compress.yaml"), "stages:\n  - quantize: { method: rtn, bits: 8, group_size: 128 }\n");
        var third = Build(dir);
        Assert.True(third.ExitCode == 0, third.All);
        Assert.Contains("block 6/6", third.StdOut);
        Assert.Contains("compression=quantize rtn int8 g128", File.ReadAllText(binding));
    }

    [Fact]
    public void A_spec_error_fails_the_build_at_the_yaml_line_and_leaves_no_pack()
    {
        using var dir = new RepoPaths.TempDir();
        WriteProject(dir, "stages:\n  - quantize: { method: rtn, bitz: 4 }\n");
        var r = Build(dir);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains($"{dir.File("model.compress.yaml")}(2,30): error MB1102", r.StdOut);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.mbpack", SearchOption.AllDirectories));
    }

    [Theory]
    [InlineData("Include=\"no/such/model\" Spec=\"model.compress.yaml\"", "MB1001", "no/such/model")]
    [InlineData("Include=\"{model}\"", "MB1100", "has no Spec metadata")]
    [InlineData("Include=\"{model}\" Spec=\"model.compress.yaml\" ClassName=\"9Lives\"", "MB2001", "not a C# identifier")]
    public void Bad_items_are_MB_errors_at_the_project_file_and_nothing_is_compressed(string attributes, string code, string text)
    {
        using var dir = new RepoPaths.TempDir();
        WriteProject(dir, "stages:\n  - quantize: { method: rtn, bits: 4, group_size: 128 }\n");
        File.WriteAllText(dir.File("App.csproj"), ProjectXml($"<CompressedModel {attributes.Replace("{model}", RepoPaths.FixtureModel)} />"));
        var r = Build(dir);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains($"{dir.File("App.csproj")} : error {code}", r.StdOut);
        Assert.Contains(text, r.StdOut);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.mbpack", SearchOption.AllDirectories));
    }

    [Fact]
    public void A_design_time_build_generates_the_binding_but_does_not_compress()
    {
        using var dir = new RepoPaths.TempDir();
        WriteProject(dir, "stages:\n  - quantize: { method: rtn, bits: 4, group_size: 128 }\n");
        // A whole build in design-time mode: Program.cs compiles only if the generator produced FortuneModel.
        var r = Build(dir, "-p:DesignTimeBuild=true");
        Assert.True(r.ExitCode == 0, r.All);
        string binding = Directory.GetFiles(dir.Path, "*.mbbinding", SearchOption.AllDirectories).Single();
        Assert.DoesNotContain("compression=", File.ReadAllText(binding)); // made from config.json alone
        Assert.True(File.Exists(dir.File("bin/Debug/net10.0/App.dll")));
        Assert.Empty(Directory.GetFiles(dir.Path, "*.mbpack", SearchOption.AllDirectories));
        Assert.DoesNotContain("block 1/6", r.StdOut);
    }

    [Fact]
    public void Four_projects_built_in_parallel_share_one_compression()
    {
        using var dir = new RepoPaths.TempDir();
        string[] projects = ["One", "Two", "Three", "Four"];
        foreach (var p in projects) WriteProject(dir, "stages:\n  - quantize: { method: rtn, bits: 4, group_size: 128 }\n", project: p);
        Assert.Equal(0, ProcessRunner.Run("dotnet", ["new", "sln", "-n", "All", "--format", "sln"], dir.Path).ExitCode);
        Assert.Equal(0, ProcessRunner.Run("dotnet", new[] { "sln", "All.sln", "add" }.Concat(projects.Select(p => $"{p}/{p}.csproj")), dir.Path).ExitCode);

        var r = BuildPath(dir, dir.File("All.sln"), "-m:4");
        Assert.True(r.ExitCode == 0, r.All);
        Assert.Equal(1, r.StdOut.Split("block 6/6").Length - 1); // compressed by exactly one build
        Assert.Equal(3, r.StdOut.Split("reusing the compression cached").Length - 1);
        var packs = projects.Select(p => File.ReadAllBytes(Path.Combine(dir.Path, p, "bin", "Debug", "net10.0", "tiny-fortunes.mbpack"))).ToList();
        Assert.All(packs, bytes => Assert.Equal(packs[0], bytes));
    }

    [Fact]
    public void Embed_puts_the_pack_in_the_assembly_and_the_app_runs_without_the_file()
    {
        using var dir = new RepoPaths.TempDir();
        WriteProject(dir, "stages:\n  - quantize: { method: rtn, bits: 4, group_size: 128 }\n", "ClassName=\"FortuneModel\" Embed=\"true\"");
        var build = Build(dir);
        Assert.True(build.ExitCode == 0, build.All);
        string output = dir.File("bin/Debug/net10.0");
        Assert.False(File.Exists(Path.Combine(output, "tiny-fortunes.mbpack")), "an embedded pack is not copied beside the app");
        long pack = new FileInfo(Directory.GetFiles(dir.Path, "tiny-fortunes.mbpack", SearchOption.AllDirectories).Single()).Length;
        Assert.True(new FileInfo(Path.Combine(output, "App.dll")).Length > pack, "the assembly carries the pack");

        var run = ProcessRunner.Run("dotnet", new[] { Path.Combine(output, "App.dll") }, output);
        Assert.True(run.ExitCode == 0, run.All);
        Assert.Contains("vocab=2048 context=512", run.StdOut);
        Assert.Contains("same=True", run.StdOut);
    }

    [Fact]
    public void Two_models_in_one_project_get_their_own_classes_namespaces_and_packs()
    {
        using var dir = new RepoPaths.TempDir();
        string second = dir.File("second-model");
        Directory.CreateDirectory(second);
        foreach (var f in Directory.GetFiles(RepoPaths.FixtureModel)) File.Copy(f, Path.Combine(second, Path.GetFileName(f)));
        File.WriteAllText(dir.File("App.csproj"), ProjectXml($"""
            <CompressedModel Include="{RepoPaths.FixtureModel}" Spec="q4.yaml" ClassName="Fortunes4" Namespace="Models.Small" />
            <CompressedModel Include="second-model" Spec="q8.yaml" />
            """));
        File.WriteAllText(dir.File("q4.yaml"), "stages:\n  - quantize: { method: rtn, bits: 4, group_size: 128 }\n");
        File.WriteAllText(dir.File("q8.yaml"), "stages:\n  - quantize: { method: rtn, bits: 8, group_size: 128 }\n");
        File.WriteAllText(dir.File("Program.cs"), """
            using var a = Models.Small.Fortunes4.Load();
            using var b = App.secondmodelModel.Load();
            Console.WriteLine($"packs={Models.Small.Fortunes4.PackFileName},{App.secondmodelModel.PackFileName}");
            Console.WriteLine("a=" + a.Generate("Luck", new ModelBuild.Runtime.GenerationOptions { MaxTokens = 6, Temperature = 0 }).Length);
            Console.WriteLine("b=" + b.Generate("Luck", new ModelBuild.Runtime.GenerationOptions { MaxTokens = 6, Temperature = 0 }).Length);
            """);
        var build = Build(dir);
        Assert.True(build.ExitCode == 0, build.All);
        string output = dir.File("bin/Debug/net10.0");
        var run = ProcessRunner.Run("dotnet", new[] { Path.Combine(output, "App.dll") }, output);
        Assert.True(run.ExitCode == 0, run.All);
        Assert.Contains("packs=tiny-fortunes.mbpack,second-model.mbpack", run.StdOut);
        Assert.Matches(@"a=\d+", run.StdOut);
        Assert.True(new FileInfo(Path.Combine(output, "second-model.mbpack")).Length > new FileInfo(Path.Combine(output, "tiny-fortunes.mbpack")).Length,
            "the 8-bit pack is larger than the 4-bit one: each item has its own spec");
    }
}
