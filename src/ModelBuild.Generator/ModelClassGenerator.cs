using System;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;

namespace ModelBuild.Generator;

/// <summary>
/// For every *.mbbinding AdditionalFile (added by ModelBuild.targets for each &lt;CompressedModel&gt;), emits a typed
/// model class. Only the small binding file is read, never the pack, so the IDE stays fast.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class ModelClassGenerator : IIncrementalGenerator
{
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var bindings = context.AdditionalTextsProvider
            .Where(static f => f.Path.EndsWith(".mbbinding", StringComparison.OrdinalIgnoreCase))
            .Select(static (f, ct) => ModelBinding.Parse(f.Path, f.GetText(ct)?.ToString() ?? ""))
            .WithTrackingName("ModelBindings");

        context.RegisterSourceOutput(bindings.Collect(), static (spc, all) => Emit(spc, all));
    }

    private static void Emit(SourceProductionContext spc, ImmutableArray<ModelBinding> all)
    {
        foreach (var group in all.GroupBy(b => (b.Namespace, b.ClassName)))
        {
            var b = group.First();
            if (group.Count() > 1)
            {
                spc.ReportDiagnostic(Diagnostic.Create(Diagnostics.DuplicateClassName, Location.None, b.ClassName));
                continue;
            }
            if (b.Error is not null)
            {
                spc.ReportDiagnostic(Diagnostic.Create(Diagnostics.InvalidBinding, Location.None, b.SourcePath, b.Error));
                continue;
            }
            if (!SyntaxFacts.IsValidIdentifier(b.ClassName) || SyntaxFacts.GetKeywordKind(b.ClassName) != SyntaxKind.None
                || (b.Namespace.Length > 0 && !b.Namespace.Split('.').All(SyntaxFacts.IsValidIdentifier)))
            {
                spc.ReportDiagnostic(Diagnostic.Create(Diagnostics.InvalidClassName, Location.None, b.Namespace.Length > 0 ? b.Namespace + "." + b.ClassName : b.ClassName, b.SourcePath));
                continue;
            }
            string hint = (b.Namespace.Length > 0 ? b.Namespace + "." : "") + b.ClassName + ".g.cs";
            spc.AddSource(hint, SourceText.From(ModelClassEmitter.Emit(b), System.Text.Encoding.UTF8));
        }
    }
}
