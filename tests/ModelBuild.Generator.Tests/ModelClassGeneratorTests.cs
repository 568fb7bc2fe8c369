using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;
using ModelBuild.Generator;

namespace ModelBuild.Generator.Tests;

public class ModelClassGeneratorTests
{
    private sealed class InMemoryText(string path, string text) : AdditionalText
    {
        public override string Path => path;
        public override SourceText GetText(CancellationToken cancellationToken = default) => SourceText.From(text);
    }

    private static string Binding(string className = "FortuneModel", string ns = "Demo") => $"""
        class_name={className}
        namespace={ns}
        pack_file=tiny-fortunes.mbpack
        model_type=llama
        vocab_size=2048
        context_length=512
        hidden_size=256
        num_layers=6
        num_attention_heads=8
        num_key_value_heads=4
        """;

    private static CSharpCompilation Compilation(string source = "namespace Demo; public static class Use { public static string Run() { using var m = FortuneModel.Load(\"x\"); return m.Generate(\"hi\", new ModelBuild.Runtime.GenerationOptions { MaxTokens = 3 }); } }")
    {
        var refs = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Select(p => MetadataReference.CreateFromFile(p)).Cast<MetadataReference>().ToList();
        refs.Add(MetadataReference.CreateFromFile(typeof(ModelBuild.Runtime.CausalLanguageModel).Assembly.Location));
        return CSharpCompilation.Create("App", new[] { CSharpSyntaxTree.ParseText(source) }, refs,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
    }

    private static (GeneratorDriver Driver, Compilation Output, ImmutableArray<Diagnostic> Diagnostics) Run(params AdditionalText[] files)
    {
        GeneratorDriver driver = CSharpGeneratorDriver.Create(new[] { new ModelClassGenerator().AsSourceGenerator() }, files,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));
        driver = driver.RunGeneratorsAndUpdateCompilation(Compilation(), out var output, out var diagnostics);
        return (driver, output, diagnostics);
    }

    [Fact]
    public void Generates_a_typed_class_that_compiles_against_the_runtime()
    {
        var (driver, output, diagnostics) = Run(new InMemoryText("/obj/tiny.mbbinding", Binding()));
        Assert.Empty(diagnostics);
        var generated = Assert.Single(driver.GetRunResult().GeneratedTrees);
        string code = generated.ToString();
        Assert.Contains("public sealed partial class FortuneModel", code);
        Assert.Contains("public const int VocabSize = 2048;", code);
        Assert.Contains("public const int ContextLength = 512;", code);
        Assert.Contains("\"tiny-fortunes.mbpack\"", code);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
    }

    [Fact]
    public void The_class_doc_comment_carries_the_report_facts_as_valid_xml()
    {
        string binding = Binding() + "\nparameters=1433856\ncompression=sparsify sparsegpt 2:4, then quantize gptq int4 g128 asym\npack_bytes=4729000"
            + "\nzero_fraction=0.5\nperplexity=52.536 on eval.txt (original 50.527, +3.98 %) <&>\n";
        var (driver, _, diagnostics) = Run(new InMemoryText("/obj/tiny.mbbinding", binding));
        Assert.Empty(diagnostics);
        var tree = Assert.Single(driver.GetRunResult().GeneratedTrees);
        string code = tree.ToString();
        Assert.Contains("1.43 M parameters.", code);
        Assert.Contains("<para>Compression: sparsify sparsegpt 2:4, then quantize gptq int4 g128 asym; 50 % of the projection weights are zero; pack 4.51 MiB.</para>", code);
        Assert.Contains("<para>Perplexity: 52.536 on eval.txt (original 50.527, +3.98 %) &lt;&amp;&gt;.</para>", code);
        // The comment must be well-formed XML, or the compiler warns (CS1570) in projects that generate documentation.
        var parsed = CSharpSyntaxTree.ParseText(code, new CSharpParseOptions(documentationMode: DocumentationMode.Diagnose));
        Assert.DoesNotContain(parsed.GetDiagnostics(), d => d.Severity >= DiagnosticSeverity.Warning);
    }

    [Fact]
    public void Without_a_report_the_doc_comment_has_no_compression_facts()
    {
        var (driver, _, _) = Run(new InMemoryText("/obj/tiny.mbbinding", Binding()));
        string code = driver.GetRunResult().GeneratedTrees.Single().ToString();
        Assert.DoesNotContain("<para>", code);
        Assert.Contains("context 512 tokens.", code);
    }

    [Fact]
    public void Other_additional_files_are_ignored()
    {
        var (driver, _, diagnostics) = Run(new InMemoryText("/x/readme.txt", "class_name=Nope"));
        Assert.Empty(diagnostics);
        Assert.Empty(driver.GetRunResult().GeneratedTrees);
    }

    [Theory]
    [InlineData("class", "Demo")]
    [InlineData("1Model", "Demo")]
    [InlineData("Fine", "Bad-Namespace")]
    public void Invalid_names_give_MB2001(string className, string ns)
    {
        var (driver, _, _) = Run(new InMemoryText("/obj/a.mbbinding", Binding(className, ns)));
        var d = Assert.Single(driver.GetRunResult().Diagnostics);
        Assert.Equal("MB2001", d.Id);
        Assert.Empty(driver.GetRunResult().GeneratedTrees);
    }

    [Fact]
    public void Duplicate_class_names_give_MB2003()
    {
        var (driver, _, _) = Run(new InMemoryText("/obj/a.mbbinding", Binding()), new InMemoryText("/obj/b.mbbinding", Binding()));
        Assert.Equal("MB2003", Assert.Single(driver.GetRunResult().Diagnostics).Id);
    }

    [Fact]
    public void A_binding_missing_fields_gives_MB2002()
    {
        var (driver, _, _) = Run(new InMemoryText("/obj/a.mbbinding", "class_name=X\n"));
        Assert.Equal("MB2002", Assert.Single(driver.GetRunResult().Diagnostics).Id);
    }

    [Fact]
    public void Editing_an_unrelated_source_file_does_not_reparse_the_binding()
    {
        var (driver, output, _) = Run(new InMemoryText("/obj/tiny.mbbinding", Binding()));
        var edited = Compilation().AddSyntaxTrees(CSharpSyntaxTree.ParseText("namespace Demo; class Unrelated {}"));
        driver = driver.RunGenerators(edited);
        var steps = driver.GetRunResult().Results[0].TrackedSteps["ModelBindings"];
        Assert.All(steps.SelectMany(s => s.Outputs), o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));
    }
}
