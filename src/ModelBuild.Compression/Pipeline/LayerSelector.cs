namespace ModelBuild.Compression.Pipeline;

/// <summary>Maps spec target names (attention, mlp, lm_head, q_proj, ...) to checkpoint tensor names.</summary>
public static class LayerSelector
{
    private static readonly string[] AttentionProjections = { "q_proj", "k_proj", "v_proj", "o_proj" };
    private static readonly string[] MlpProjections = { "gate_proj", "up_proj", "down_proj" };

    /// <summary>The short name of a linear weight ("q_proj", "lm_head"), or null when the tensor is not a linear layer weight.</summary>
    public static string? LinearKind(string tensorName)
    {
        if (tensorName == "lm_head.weight") return "lm_head";
        if (!tensorName.EndsWith(".weight", StringComparison.Ordinal)) return null;
        string stem = tensorName[..^".weight".Length];
        string last = stem[(stem.LastIndexOf('.') + 1)..];
        return AttentionProjections.Contains(last) || MlpProjections.Contains(last) ? last : null;
    }

    public static bool Matches(string tensorName, IReadOnlyList<string> targets, IReadOnlyList<string> ignore)
    {
        string? kind = LinearKind(tensorName);
        if (kind is null) return false;
        return targets.Any(t => Covers(t, kind)) && !ignore.Any(t => Covers(t, kind));
    }

    private static bool Covers(string target, string kind) => target switch
    {
        "attention" => AttentionProjections.Contains(kind),
        "mlp" => MlpProjections.Contains(kind),
        _ => target == kind,
    };
}
