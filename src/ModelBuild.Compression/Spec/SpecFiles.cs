using ModelBuild.Compression.Diagnostics;

namespace ModelBuild.Compression.Spec;

/// <summary>Files a spec names (calibration text, gate eval text), resolved relative to the spec file.</summary>
public static class SpecFiles
{
    /// <summary>The full path of <paramref name="relative"/>; an MB1103 at <paramref name="at"/> when it is unset or missing.</summary>
    public static string Resolve(string? relative, string specPath, SpecLocation at, string key, string example)
    {
        if (relative is null)
            throw new ModelBuildException(ErrorCodes.SpecInvalidValue, $"{key.Split('.')[0]} has no '{key.Split('.')[1]}'.", at.File, at.Line, at.Column,
                $"add {example} (relative to the spec).");
        string path = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(specPath))!, relative));
        if (!File.Exists(path))
            throw new ModelBuildException(ErrorCodes.SpecInvalidValue, $"{key} not found: {path}", at.File, at.Line, at.Column,
                $"{key} is resolved relative to the spec file.");
        return path;
    }
}
