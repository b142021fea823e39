namespace AkkaKube.Actors.Controllers.NodeLifecycle;

public sealed record Toleration(string? Key, string? Operator, string? Value, string? Effect, long? TolerationSeconds);

/// <summary>
/// Taint-based eviction (Kubernetes' taint manager): a pod on a node with NoExecute taints is evicted
/// at once when one taint is not tolerated, after the smallest tolerationSeconds when all are tolerated
/// for a while, and never when all are tolerated without a limit.
/// </summary>
public static class TaintEviction
{
    /// <summary>When the pod must be evicted; null = never (while these taints stay).</summary>
    public static DateTime? EvictionTime(IReadOnlyList<Taint> nodeTaints, IReadOnlyList<Toleration> tolerations, DateTime now)
    {
        DateTime? earliest = null;
        foreach (var taint in nodeTaints.Where(t => t.Effect == NodeHealthEvaluator.NoExecute))
        {
            var matching = tolerations.Where(t => Tolerates(t, taint)).ToList();
            if (matching.Count == 0) return now;
            if (matching.Any(t => t.TolerationSeconds is null)) continue;
            var seconds = Math.Max(0, matching.Min(t => t.TolerationSeconds!.Value));
            var at = (taint.TimeAdded ?? now).AddSeconds(seconds);
            if (earliest is null || at < earliest) earliest = at;
        }
        return earliest;
    }

    public static bool Tolerates(Toleration t, Taint taint)
    {
        if (!string.IsNullOrEmpty(t.Effect) && t.Effect != taint.Effect) return false;
        if (string.IsNullOrEmpty(t.Key)) return t.Operator == "Exists";
        if (t.Key != taint.Key) return false;
        return t.Operator == "Exists" || (t.Value ?? "") == (taint.Value ?? "");
    }
}
