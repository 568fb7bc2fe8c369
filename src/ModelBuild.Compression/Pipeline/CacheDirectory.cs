namespace ModelBuild.Compression.Pipeline;

/// <summary>Where ModelBuild caches derived files: $MODELBUILD_CACHE_DIR, else ~/.cache/modelbuild.</summary>
public static class CacheDirectory
{
    public static string Root =>
        Environment.GetEnvironmentVariable("MODELBUILD_CACHE_DIR") is { Length: > 0 } d
            ? d
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "modelbuild");
}
