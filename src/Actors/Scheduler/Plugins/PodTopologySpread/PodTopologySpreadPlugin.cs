using AkkaKube.Actors.Client;
using AkkaKube.Actors.Scheduler.Framework;
using k8s.Models;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Scheduler.Plugins.PodTopologySpread;

/// <summary>
/// Spreads matching pods over topology domains (zones, hostnames). DoNotSchedule constraints filter
/// (skew = matching pods in the node's domain + self − the least populated domain must stay ≤ maxSkew);
/// ScheduleAnyway constraints score (fewer matching pods in the domain is better). A pod without constraints
/// that has a controlling owner gets Kubernetes' system defaults: zone maxSkew 5 and hostname maxSkew 3,
/// both ScheduleAnyway, over the pods of the same owner.
/// </summary>
public sealed class PodTopologySpreadPlugin : IPreFilterPlugin, IFilterPlugin, IPreScorePlugin, IScorePlugin
{
    public const string PluginName = "PodTopologySpread";
    public const string ErrReasonConstraintsNotMatch = "node(s) didn't match pod topology spread constraints";
    public const string ErrReasonNodeLabelNotMatch = "node(s) didn't match pod topology spread constraints (missing required label)";
    private const string PreFilterKey = "PreFilter" + PluginName;
    private const string PreScoreKey = "PreScore" + PluginName;

    public string Name => PluginName;

    /// <summary>A constraint ready to evaluate: the selector is a predicate over pods of the same namespace.</summary>
    /// <summary><c>Owner</c> set: the system default, selecting the pods of that controller (counted by NodeInfo).</summary>
    internal sealed record Constraint(string TopologyKey, int MaxSkew, bool Hard, int MinDomains, Func<PodInfo, bool> Selects, bool HonorTaints, string? Owner = null);

    internal static List<Constraint> ConstraintsOf(PodInfo pod, bool hard)
    {
        var declared = pod.Pod.Spec?.TopologySpreadConstraints;
        var result = new List<Constraint>();
        if (declared is { Count: > 0 })
        {
            foreach (var c in declared)
            {
                var isHard = c.WhenUnsatisfiable != "ScheduleAnyway";
                if (isHard != hard) continue;
                var selector = c.LabelSelector;
                if (c.MatchLabelKeys is { Count: > 0 } keys)
                {
                    selector = new V1LabelSelector
                    {
                        MatchLabels = new Dictionary<string, string>(selector?.MatchLabels ?? new Dictionary<string, string>()),
                        MatchExpressions = selector?.MatchExpressions,
                    };
                    foreach (var k in keys)
                        if (pod.Labels.TryGetValue(k, out var v)) selector.MatchLabels[k] = v;
                }
                var sel = selector;
                result.Add(new Constraint(c.TopologyKey, Math.Max(1, c.MaxSkew), isHard, c.MinDomains ?? 1,
                    p => p.Namespace == pod.Namespace && LabelSelectors.Matches(sel, p.Labels),
                    c.NodeTaintsPolicy == "Honor"));
            }
            return result;
        }
        if (!hard && pod.ControllerUid is { } owner)
        {
            // System default constraints (Kubernetes ≥ 1.24), selecting the pods of the same controller.
            bool SameOwner(PodInfo p) => p.Namespace == pod.Namespace && p.ControllerUid == owner;
            result.Add(new Constraint(AkkaKubeNames.Labels.Zone, 5, false, 1, SameOwner, false, owner));
            result.Add(new Constraint(AkkaKubeNames.Labels.Hostname, 3, false, 1, SameOwner, false, owner));
        }
        return result;
    }

    private sealed class FilterState
    {
        public required List<Constraint> Constraints { get; init; }
        /// <summary>Per constraint: domain value → matching pods.</summary>
        public required List<Dictionary<string, int>> Counts { get; init; }
        public required bool[] SelfMatch { get; init; }
        /// <summary>Per constraint: the least populated domain's count (0 when fewer domains than minDomains), computed once per cycle.</summary>
        public required int[] MinMatch { get; init; }
    }

    private static bool Eligible(PodInfo pod, NodeInfo node, List<Constraint> constraints, bool constrainedByAffinity)
    {
        if (constrainedByAffinity && !NodeAffinity.NodeAffinityPlugin.Matches(pod, node)) return false;
        foreach (var c in constraints)
        {
            if (!node.Labels.ContainsKey(c.TopologyKey)) return false;
            if (c.HonorTaints && new TaintToleration.TaintTolerationPlugin().Filter(new CycleState(), pod, node).IsRejected) return false;
        }
        return true;
    }

    private static List<Dictionary<string, int>> Count(PodInfo pod, List<Constraint> constraints, IReadOnlyList<NodeInfo> nodes)
    {
        var spec = pod.Pod.Spec;
        var constrainedByAffinity = spec?.NodeSelector is { Count: > 0 } || spec?.Affinity?.NodeAffinity?.RequiredDuringSchedulingIgnoredDuringExecution is not null;
        if (constraints.Count == 1 && CountZonesFromCache(pod, constraints[0], nodes, constrainedByAffinity) is { } fromCache)
            return [fromCache];
        var counts = new List<Dictionary<string, int>>(constraints.Count);
        foreach (var c in constraints)
            // Hostname domains are about one per node: size for that once instead of growing step by step.
            counts.Add(new Dictionary<string, int>(c.TopologyKey == AkkaKubeNames.Labels.Hostname ? nodes.Count : 0, StringComparer.Ordinal));
        foreach (var node in nodes)
        {
            if (!Eligible(pod, node, constraints, constrainedByAffinity)) continue;
            for (var i = 0; i < constraints.Count; i++)
            {
                var c = constraints[i];
                var value = node.Labels[c.TopologyKey];
                ref var n = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(counts[i], value, out _);
                if (c.Owner is not null)
                {
                    // The same as Selects over the node's pods, from the node's kept per-owner count: O(1), not O(pods).
                    n += node.CountOwnedBy(pod.Namespace, c.Owner);
                    continue;
                }
                foreach (var p in node.Pods)
                    if (p.Pod.Metadata?.DeletionTimestamp is null && c.Selects(p)) n++;
            }
        }
        return counts;
    }

    /// <summary>
    /// The system-default zone constraint over every node, read from the cache's per-zone owner counts
    /// (<see cref="ZoneCounts"/>): the same domains (every zone some node carries) and the same counts as the walk
    /// over all nodes in <see cref="Count"/>, in O(zones). Null when the walk is needed (node affinity narrows the
    /// eligible nodes, another key or selector, or no cache behind the node list).
    /// </summary>
    private static Dictionary<string, int>? CountZonesFromCache(PodInfo pod, Constraint c, IReadOnlyList<NodeInfo> nodes, bool constrainedByAffinity)
    {
        if (c.Owner is null || c.HonorTaints || constrainedByAffinity || c.TopologyKey != AkkaKubeNames.Labels.Zone || nodes is not NodeSnapshot snapshot)
            return null;
        var zones = snapshot.Zones;
        var owned = zones.ZonesOf(pod.Namespace, c.Owner);
        var counts = new Dictionary<string, int>(zones.NodesPerZone.Count, StringComparer.Ordinal);
        foreach (var zone in zones.NodesPerZone.Keys)
            counts[zone] = owned is not null && owned.TryGetValue(zone, out var n) ? n : 0;
        return counts;
    }

    public Status PreFilter(CycleState state, PodInfo pod, IReadOnlyList<NodeInfo> allNodes)
    {
        var constraints = ConstraintsOf(pod, hard: true);
        if (constraints.Count == 0) return Status.SkipStatus;
        var counts = Count(pod, constraints, allNodes);
        var mins = new int[constraints.Count];
        for (var i = 0; i < constraints.Count; i++)
            mins[i] = counts[i].Count == 0 || counts[i].Count < constraints[i].MinDomains ? 0 : counts[i].Values.Min();
        state.Write(PreFilterKey, new FilterState
        {
            Constraints = constraints,
            Counts = counts,
            SelfMatch = constraints.Select(c => c.Selects(pod)).ToArray(),
            MinMatch = mins,
        });
        return Status.SuccessStatus;
    }

    public Status Filter(CycleState state, PodInfo pod, NodeInfo node)
    {
        var s = state.Read<FilterState>(PreFilterKey);
        if (s is null) return Status.SuccessStatus;
        for (var i = 0; i < s.Constraints.Count; i++)
        {
            var c = s.Constraints[i];
            if (!node.Labels.TryGetValue(c.TopologyKey, out var value))
                return Status.Unresolvable(ErrReasonNodeLabelNotMatch);
            s.Counts[i].TryGetValue(value, out var match);
            var skew = match + (s.SelfMatch[i] ? 1 : 0) - s.MinMatch[i];
            if (skew > c.MaxSkew) return Status.Unschedulable(ErrReasonConstraintsNotMatch);
        }
        return Status.SuccessStatus;
    }

    private sealed class ScoreState
    {
        public required List<Constraint> Constraints { get; init; }
        public required List<Dictionary<string, int>> Counts { get; init; }
        public required double[] Weights { get; init; }
        /// <summary>Feasible nodes lacking a constraint's topology label (scored 0); null when there are none, as usual.</summary>
        public required HashSet<string>? IgnoredNodes { get; init; }
        /// <summary>
        /// Per constraint: the count is the node's own per-owner count (the default hostname constraint when every
        /// hostname is one node); its entry in <see cref="Counts"/> is then empty and unused.
        /// </summary>
        public required bool[] FromNode { get; init; }
    }

    /// <summary>A node's value of a topology label; the zone and hostname come from the fields NodeInfo keeps.</summary>
    private static string? TopologyValue(NodeInfo node, string key) =>
        key == AkkaKubeNames.Labels.Hostname ? node.Hostname
        : key == AkkaKubeNames.Labels.Zone ? node.Zone
        : node.Labels.TryGetValue(key, out var value) ? value : null;

    public Status PreScore(CycleState state, PodInfo pod, IReadOnlyList<NodeInfo> feasibleNodes, IReadOnlyList<NodeInfo> allNodes)
    {
        var constraints = ConstraintsOf(pod, hard: false);
        if (constraints.Count == 0) return Status.SkipStatus;
        HashSet<string>? ignored = null;
        foreach (var n in feasibleNodes)
            foreach (var c in constraints)
                if (TopologyValue(n, c.TopologyKey) is null)
                {
                    (ignored ??= new HashSet<string>(StringComparer.Ordinal)).Add(n.Name);
                    break;
                }
        var spec = pod.Pod.Spec;
        var constrainedByAffinity = spec?.NodeSelector is { Count: > 0 } || spec?.Affinity?.NodeAffinity?.RequiredDuringSchedulingIgnoredDuringExecution is not null;
        var hostnamesUnique = allNodes is NodeSnapshot { Zones.HostnamesUnique: true };
        // Hostname domains are counted over the feasible nodes only (as kube-scheduler does); others over all nodes.
        var counts = new List<Dictionary<string, int>>();
        var weights = new double[constraints.Count];
        var fromNode = new bool[constraints.Count];
        for (var i = 0; i < constraints.Count; i++)
        {
            var c = constraints[i];
            var hostname = c.TopologyKey == AkkaKubeNames.Labels.Hostname;
            // The default hostname constraint with one node per hostname: a domain's count is its node's own per-owner
            // count, read in Score; the walk over the feasible nodes would only copy those counts into a dictionary.
            fromNode[i] = hostname && hostnamesUnique && c.Owner is not null && !c.HonorTaints && !constrainedByAffinity;
            var one = fromNode[i] ? new Dictionary<string, int>(0) : Count(pod, [c], hostname ? feasibleNodes : allNodes)[0];
            counts.Add(one);
            var domains = hostname ? feasibleNodes.Count - (ignored?.Count ?? 0) : one.Count;
            weights[i] = Math.Log(Math.Max(domains, 0) + 2);
        }
        state.Write(PreScoreKey, new ScoreState { Constraints = constraints, Counts = counts, Weights = weights, IgnoredNodes = ignored, FromNode = fromNode });
        return Status.SuccessStatus;
    }

    public long Score(CycleState state, PodInfo pod, NodeInfo node)
    {
        var s = state.Read<ScoreState>(PreScoreKey);
        if (s is null) return 0;
        if (s.IgnoredNodes is not null && s.IgnoredNodes.Contains(node.Name)) return IgnoredScore;
        double score = 0;
        for (var i = 0; i < s.Constraints.Count; i++)
        {
            var c = s.Constraints[i];
            if (TopologyValue(node, c.TopologyKey) is not { } value) continue;
            int n;
            if (s.FromNode[i]) n = node.CountOwnedBy(pod.Namespace, c.Owner!);
            else s.Counts[i].TryGetValue(value, out n);
            score += n * s.Weights[i] + (c.MaxSkew - 1);
        }
        return (long)Math.Round(score);
    }

    /// <summary>
    /// Fewer matching pods is better: score = 100 × (max + min − s) / max over the scored nodes; nodes without
    /// the topology labels (Score returned <see cref="IgnoredScore"/>) get 0.
    /// </summary>
    public void NormalizeScore(CycleState state, PodInfo pod, long[] scores)
    {
        long min = long.MaxValue, max = long.MinValue;
        foreach (var value in scores)
        {
            if (value == IgnoredScore) continue;
            if (value < min) min = value;
            if (value > max) max = value;
        }
        for (var i = 0; i < scores.Length; i++)
        {
            if (scores[i] == IgnoredScore) scores[i] = 0;
            else scores[i] = max == 0 ? Scoring.MaxNodeScore : Scoring.MaxNodeScore * (max + min - scores[i]) / max;
        }
    }

    /// <summary>Marks a node Score could not rate (it lacks a topology label); normalized to 0.</summary>
    public const long IgnoredScore = -1;
}
