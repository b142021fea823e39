using System.Text;

namespace AkkaKube.Actors.Scheduler.Framework;

/// <summary>The result of one scheduling cycle: a node, or a fit error with per-node statuses.</summary>
public sealed record ScheduleResult(string? NodeName, int EvaluatedNodes, int FeasibleNodes, FitError? Error)
{
    public bool Succeeded => NodeName is not null;
}

/// <summary>
/// Why no node fits. <see cref="Message"/> is kube-scheduler's FitError text:
/// <c>0/6 nodes are available: 3 Insufficient cpu, 3 node(s) had untolerated taint {k: v}. preemption: …</c>.
/// </summary>
public sealed record FitError(int NumAllNodes, IReadOnlyDictionary<string, Status> NodeStatuses, Status? PreFilterStatus)
{
    /// <summary>True when every rejection can only be resolved by the cluster changing in ways preemption cannot help.</summary>
    public bool IsError => PreFilterStatus is { Code: StatusCode.Error };

    public string Message
    {
        get
        {
            var histogram = new Dictionary<string, int>(StringComparer.Ordinal);
            if (PreFilterStatus is { } pf && !pf.IsSuccess)
                foreach (var r in pf.Reasons) histogram[r] = NumAllNodes;
            else
                foreach (var status in NodeStatuses.Values)
                    foreach (var r in status.Reasons)
                        histogram[r] = histogram.GetValueOrDefault(r) + 1;
            var reasons = histogram.Select(kv => $"{kv.Value} {kv.Key}").OrderBy(s => s, StringComparer.Ordinal);
            var sb = new StringBuilder();
            sb.Append("0/").Append(NumAllNodes).Append(" nodes are available");
            var joined = string.Join(", ", reasons);
            if (joined.Length > 0) sb.Append(": ").Append(joined);
            sb.Append('.');
            // AkkaKube does not preempt; report what kube-scheduler's PostFilter would for each node.
            var unresolvable = NodeStatuses.Values.Count(s => s.Code == StatusCode.UnschedulableAndUnresolvable);
            var victims = NumAllNodes - unresolvable;
            var parts = new List<string>();
            if (victims > 0) parts.Add($"{victims} No preemption victims found for incoming pod");
            if (unresolvable > 0) parts.Add($"{unresolvable} Preemption is not helpful for scheduling");
            parts.Sort(StringComparer.Ordinal);
            sb.Append(" preemption: 0/").Append(NumAllNodes).Append(" nodes are available: ").Append(string.Join(", ", parts)).Append('.');
            return sb.ToString();
        }
    }
}

/// <summary>
/// One scheduling profile (kube-scheduler's frameworkImpl + genericScheduler): runs PreFilter, Filter over
/// a rotating window of nodes until enough feasible ones are found (percentageOfNodesToScore), PreScore,
/// Score + NormalizeScore × weight, and picks the best node (ties broken at random, seeded).
/// Pure over the node list it is given; the actor owns the cache and the clock.
/// </summary>
public sealed class SchedulingAlgorithm
{
    private readonly IPreFilterPlugin[] _preFilter;
    private readonly IFilterPlugin[] _filter;
    private readonly IPreScorePlugin[] _preScore;
    private readonly (IScorePlugin Plugin, int Weight)[] _score;
    private readonly SchedulerSettings _settings;
    private readonly Random _random;
    private int _nextStartNodeIndex;

    public SchedulingAlgorithm(IEnumerable<IPlugin> plugins, IReadOnlyDictionary<string, int> weights, SchedulerSettings settings, int seed = 0)
    {
        var list = plugins.ToList();
        _preFilter = list.OfType<IPreFilterPlugin>().ToArray();
        _filter = list.OfType<IFilterPlugin>().ToArray();
        _preScore = list.OfType<IPreScorePlugin>().ToArray();
        _score = list.OfType<IScorePlugin>().Select(p => (p, weights.GetValueOrDefault(p.Name, 1))).Where(x => x.Item2 > 0).ToArray();
        _settings = settings;
        _random = new Random(seed);
    }

    /// <summary>The default profile: every in-tree plugin with the weights from settings (falling back to Kubernetes' defaults).</summary>
    /// <remarks><paramref name="volumes"/>: the scheduler's claims and volumes for VolumeBinding (empty when not given).</remarks>
    public static SchedulingAlgorithm CreateDefault(SchedulerSettings settings, int seed = 0, Plugins.VolumeBinding.VolumeSnapshot? volumes = null)
    {
        var plugins = settings.EnabledPlugins.Select(name =>
            name == Plugins.VolumeBinding.VolumeBindingPlugin.PluginName ? new Plugins.VolumeBinding.VolumeBindingPlugin(volumes ?? new())
            : PluginRegistry.InTree.TryGetValue(name, out var factory) ? factory(Akka.Configuration.Config.Empty)
            : throw new ArgumentException($"akkakube.scheduler.plugins: unknown plugin '{name}'")).ToList();
        return new SchedulingAlgorithm(plugins, settings.Weights, settings, seed);
    }

    /// <summary>kube-scheduler's numFeasibleNodesToFind: all nodes below the minimum, else an adaptive percentage (≥ 5 %).</summary>
    public static int NumFeasibleNodesToFind(int numAllNodes, int percentageOfNodesToScore, int minFeasibleNodesToFind)
    {
        if (numAllNodes < minFeasibleNodesToFind) return numAllNodes;
        var percentage = percentageOfNodesToScore;
        if (percentage <= 0)
        {
            percentage = 50 - numAllNodes / 125;
            if (percentage < 5) percentage = 5;
        }
        if (percentage >= 100) return numAllNodes;
        var n = numAllNodes * percentage / 100;
        return Math.Max(n, minFeasibleNodesToFind);
    }

    public ScheduleResult Schedule(PodInfo pod, IReadOnlyList<NodeInfo> nodes)
    {
        var state = new CycleState();
        var statuses = new Dictionary<string, Status>(StringComparer.Ordinal);
        if (nodes.Count == 0)
            return new ScheduleResult(null, 0, 0, new FitError(0, statuses, null));

        foreach (var p in _preFilter)
        {
            var s = p.PreFilter(state, pod, nodes);
            if (s.IsSkip) { state.SkipFilter.Add(p.Name); continue; }
            if (!s.IsSuccess)
                return new ScheduleResult(null, 0, 0, new FitError(nodes.Count, statuses, s.WithPlugin(p.Name)));
        }

        var toFind = NumFeasibleNodesToFind(nodes.Count, _settings.PercentageOfNodesToScore, _settings.MinFeasibleNodesToFind);
        var feasible = new List<NodeInfo>(Math.Min(toFind, nodes.Count));
        var processed = 0;
        var start = _nextStartNodeIndex % nodes.Count;
        // The filters this pod runs, decided once per cycle (PreFilter Skip), not looked up again for every node.
        var filters = Active(_filter, state.SkipFilter);
        for (var i = 0; i < nodes.Count && feasible.Count < toFind; i++)
        {
            var node = nodes[(start + i) % nodes.Count];
            processed++;
            var status = RunFilters(filters, state, pod, node);
            if (status.IsSuccess) feasible.Add(node);
            else statuses[node.Name] = status;
        }
        _nextStartNodeIndex = (start + processed) % nodes.Count;

        if (feasible.Count == 0)
            return new ScheduleResult(null, processed, 0, new FitError(nodes.Count, statuses, null));
        if (feasible.Count == 1)
            return new ScheduleResult(feasible[0].Name, processed, 1, null);

        var totals = new long[feasible.Count];
        foreach (var p in _preScore)
        {
            var s = p.PreScore(state, pod, feasible, nodes);
            if (s.IsSkip) state.SkipScore.Add(p.Name);
        }
        var scores = new long[feasible.Count];
        foreach (var (plugin, weight) in _score)
        {
            if (state.SkipScore.Contains(plugin.Name)) continue;
            for (var i = 0; i < feasible.Count; i++) scores[i] = plugin.Score(state, pod, feasible[i]);
            plugin.NormalizeScore(state, pod, scores);
            for (var i = 0; i < feasible.Count; i++) totals[i] += scores[i] * weight;
        }

        // Highest total wins; ties by reservoir sampling (as kube-scheduler's selectHost).
        var best = 0;
        var ties = 1;
        for (var i = 1; i < totals.Length; i++)
        {
            if (totals[i] > totals[best]) { best = i; ties = 1; }
            else if (totals[i] == totals[best] && _random.Next(++ties) == 0) best = i;
        }
        return new ScheduleResult(feasible[best].Name, processed, feasible.Count, null);
    }

    /// <summary>Runs the filters in order; the first rejection wins (NodeResourcesFit reports all its reasons).</summary>
    public Status RunFilters(CycleState state, PodInfo pod, NodeInfo node) => RunFilters(Active(_filter, state.SkipFilter), state, pod, node);

    private static Status RunFilters(IFilterPlugin[] filters, CycleState state, PodInfo pod, NodeInfo node)
    {
        foreach (var f in filters)
        {
            var s = f.Filter(state, pod, node);
            if (!s.IsSuccess) return s.WithPlugin(f.Name);
        }
        return Status.SuccessStatus;
    }

    /// <summary>The plugins not skipped in this cycle (the array itself when none is).</summary>
    private static T[] Active<T>(T[] plugins, HashSet<string> skipped) where T : IPlugin
    {
        if (skipped.Count == 0) return plugins;
        var active = new List<T>(plugins.Length);
        foreach (var p in plugins)
            if (!skipped.Contains(p.Name)) active.Add(p);
        return active.ToArray();
    }
}
