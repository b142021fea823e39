using AkkaKube.Actors.Client;
using AkkaKube.Actors.Scheduler.Framework;
using k8s.Models;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Scheduler.Plugins.InterPodAffinity;

/// <summary>
/// Required inter-pod affinity and anti-affinity (Filter), both directions: the incoming pod's
/// anti-affinity terms must not see a matching pod in the node's topology domain, existing pods'
/// anti-affinity terms must not match the incoming pod in that domain, and every affinity term of the
/// incoming pod must see a matching pod in the domain (unless no pod matches anywhere and the pod
/// matches its own terms — the first pod of a group). Preferred terms score.
/// </summary>
public sealed class InterPodAffinityPlugin : IPreFilterPlugin, IFilterPlugin, IPreScorePlugin, IScorePlugin
{
    public const string PluginName = "InterPodAffinity";
    public const string ErrReasonExistingAntiAffinityRulesNotMatch = "node(s) didn't satisfy existing pods anti-affinity rules";
    public const string ErrReasonAffinityRulesNotMatch = "node(s) didn't match pod affinity rules";
    public const string ErrReasonAntiAffinityRulesNotMatch = "node(s) didn't match pod anti-affinity rules";
    private const string PreFilterKey = "PreFilter" + PluginName;
    private const string PreScoreKey = "PreScore" + PluginName;

    public string Name => PluginName;

    /// <summary>Does <paramref name="term"/> (declared by a pod in <paramref name="ownerNamespace"/>) select <paramref name="candidate"/>?</summary>
    public static bool TermSelects(V1PodAffinityTerm term, string ownerNamespace, PodInfo candidate)
    {
        var namespaces = term.Namespaces;
        var nsOk = namespaces is { Count: > 0 }
            ? namespaces.Contains(candidate.Namespace)
            : term.NamespaceSelector is not null ? LabelSelectors.IsEmpty(term.NamespaceSelector) : candidate.Namespace == ownerNamespace;
        return nsOk && LabelSelectors.Matches(term.LabelSelector ?? new V1LabelSelector(), candidate.Labels) && term.LabelSelector is not null;
    }

    private static string DomainKey(string key, string value) => key + "\u0000" + value;

    private sealed class FilterState
    {
        public required IList<V1PodAffinityTerm> Affinity { get; init; }
        public required IList<V1PodAffinityTerm> AntiAffinity { get; init; }
        /// <summary>Per affinity term: domains (key\0value) holding a matching pod.</summary>
        public required List<HashSet<string>> AffinityDomains { get; init; }
        public required List<HashSet<string>> AntiAffinityDomains { get; init; }
        /// <summary>Domains where an existing pod's required anti-affinity selects the incoming pod.</summary>
        public required HashSet<string> ExistingAntiDomains { get; init; }
        public required bool NoAffinityMatchAnywhere { get; init; }
        public required bool SelfMatchesAllAffinity { get; init; }
    }

    public Status PreFilter(CycleState state, PodInfo pod, IReadOnlyList<NodeInfo> allNodes)
    {
        var affinity = pod.Pod.Spec?.Affinity?.PodAffinity?.RequiredDuringSchedulingIgnoredDuringExecution ?? [];
        var anti = pod.Pod.Spec?.Affinity?.PodAntiAffinity?.RequiredDuringSchedulingIgnoredDuringExecution ?? [];
        // The cache keeps the cluster-wide count; over a plain node list, look at every node.
        var anyExistingAnti = allNodes is NodeSnapshot snapshot
            ? snapshot.Zones.PodsWithRequiredAntiAffinity > 0
            : allNodes.Any(n => n.PodsWithRequiredAntiAffinity > 0);
        if (affinity.Count == 0 && anti.Count == 0 && !anyExistingAnti) return Status.SkipStatus;

        var affDomains = affinity.Select(_ => new HashSet<string>(StringComparer.Ordinal)).ToList();
        var antiDomains = anti.Select(_ => new HashSet<string>(StringComparer.Ordinal)).ToList();
        var existing = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in allNodes)
        {
            foreach (var other in node.Pods)
            {
                if (other.Key == pod.Key) continue;
                for (var i = 0; i < affinity.Count; i++)
                    if (node.Labels.TryGetValue(affinity[i].TopologyKey, out var v) && TermSelects(affinity[i], pod.Namespace, other))
                        affDomains[i].Add(DomainKey(affinity[i].TopologyKey, v));
                for (var i = 0; i < anti.Count; i++)
                    if (node.Labels.TryGetValue(anti[i].TopologyKey, out var v) && TermSelects(anti[i], pod.Namespace, other))
                        antiDomains[i].Add(DomainKey(anti[i].TopologyKey, v));
                if (node.PodsWithRequiredAntiAffinity > 0)
                    foreach (var term in other.Pod.Spec?.Affinity?.PodAntiAffinity?.RequiredDuringSchedulingIgnoredDuringExecution ?? [])
                        if (node.Labels.TryGetValue(term.TopologyKey, out var v) && TermSelects(term, other.Namespace, pod))
                            existing.Add(DomainKey(term.TopologyKey, v));
            }
        }
        state.Write(PreFilterKey, new FilterState
        {
            Affinity = affinity,
            AntiAffinity = anti,
            AffinityDomains = affDomains,
            AntiAffinityDomains = antiDomains,
            ExistingAntiDomains = existing,
            NoAffinityMatchAnywhere = affDomains.All(d => d.Count == 0),
            SelfMatchesAllAffinity = affinity.All(t => TermSelects(t, pod.Namespace, pod)),
        });
        return Status.SuccessStatus;
    }

    public Status Filter(CycleState state, PodInfo pod, NodeInfo node)
    {
        var s = state.Read<FilterState>(PreFilterKey);
        if (s is null) return Status.SuccessStatus;
        if (s.ExistingAntiDomains.Count > 0)
            foreach (var (k, v) in node.Labels)
                if (s.ExistingAntiDomains.Contains(DomainKey(k, v)))
                    return Status.Unschedulable(ErrReasonExistingAntiAffinityRulesNotMatch);
        for (var i = 0; i < s.AntiAffinity.Count; i++)
            if (node.Labels.TryGetValue(s.AntiAffinity[i].TopologyKey, out var v) && s.AntiAffinityDomains[i].Contains(DomainKey(s.AntiAffinity[i].TopologyKey, v)))
                return Status.Unschedulable(ErrReasonAntiAffinityRulesNotMatch);
        if (s.Affinity.Count > 0)
        {
            var allKeys = s.Affinity.All(t => node.Labels.ContainsKey(t.TopologyKey));
            if (!allKeys) return Status.Unresolvable(ErrReasonAffinityRulesNotMatch);
            if (s.NoAffinityMatchAnywhere && s.SelfMatchesAllAffinity) return Status.SuccessStatus;
            for (var i = 0; i < s.Affinity.Count; i++)
                if (!s.AffinityDomains[i].Contains(DomainKey(s.Affinity[i].TopologyKey, node.Labels[s.Affinity[i].TopologyKey])))
                    return Status.Unresolvable(ErrReasonAffinityRulesNotMatch);
        }
        return Status.SuccessStatus;
    }

    private sealed class ScoreState
    {
        public required Dictionary<string, long> DomainScores { get; init; }
    }

    /// <summary>Preferred terms: +weight (affinity) or −weight (anti-affinity) for every domain holding a matching pod.</summary>
    public Status PreScore(CycleState state, PodInfo pod, IReadOnlyList<NodeInfo> feasibleNodes, IReadOnlyList<NodeInfo> allNodes)
    {
        var pref = pod.Pod.Spec?.Affinity?.PodAffinity?.PreferredDuringSchedulingIgnoredDuringExecution ?? [];
        var prefAnti = pod.Pod.Spec?.Affinity?.PodAntiAffinity?.PreferredDuringSchedulingIgnoredDuringExecution ?? [];
        if (pref.Count == 0 && prefAnti.Count == 0) return Status.SkipStatus;
        var scores = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var node in allNodes)
            foreach (var other in node.Pods)
            {
                foreach (var t in pref)
                    if (t.PodAffinityTerm is { } term && node.Labels.TryGetValue(term.TopologyKey, out var v) && TermSelects(term, pod.Namespace, other))
                        scores[DomainKey(term.TopologyKey, v)] = scores.GetValueOrDefault(DomainKey(term.TopologyKey, v)) + t.Weight;
                foreach (var t in prefAnti)
                    if (t.PodAffinityTerm is { } term && node.Labels.TryGetValue(term.TopologyKey, out var v) && TermSelects(term, pod.Namespace, other))
                        scores[DomainKey(term.TopologyKey, v)] = scores.GetValueOrDefault(DomainKey(term.TopologyKey, v)) - t.Weight;
            }
        state.Write(PreScoreKey, new ScoreState { DomainScores = scores });
        return Status.SuccessStatus;
    }

    public long Score(CycleState state, PodInfo pod, NodeInfo node)
    {
        var s = state.Read<ScoreState>(PreScoreKey);
        if (s is null) return 0;
        long total = 0;
        foreach (var (k, v) in node.Labels)
            if (s.DomainScores.TryGetValue(DomainKey(k, v), out var score)) total += score;
        return total;
    }

    /// <summary>Min–max scaling to [0, 100] (scores may be negative).</summary>
    public void NormalizeScore(CycleState state, PodInfo pod, long[] scores)
    {
        if (scores.Length == 0) return;
        long min = scores.Min(), max = scores.Max();
        for (var i = 0; i < scores.Length; i++)
            scores[i] = max == min ? 0 : Scoring.MaxNodeScore * (scores[i] - min) / (max - min);
    }
}
