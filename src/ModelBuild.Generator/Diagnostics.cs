using Microsoft.CodeAnalysis;

namespace ModelBuild.Generator;

internal static class Diagnostics
{
    public static readonly DiagnosticDescriptor InvalidClassName = new(
        "MB2001", "Invalid model class name",
        "ClassName '{0}' of model binding '{1}' is not a valid C# identifier; set the ClassName metadata of the <CompressedModel> item",
        "ModelBuild", DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor InvalidBinding = new(
        "MB2002", "Invalid model binding manifest",
        "Model binding '{0}' is invalid: {1}; rebuild to regenerate it",
        "ModelBuild", DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor DuplicateClassName = new(
        "MB2003", "Duplicate model class name",
        "Two <CompressedModel> items generate the class '{0}'; give each a distinct ClassName",
        "ModelBuild", DiagnosticSeverity.Error, isEnabledByDefault: true);
}
