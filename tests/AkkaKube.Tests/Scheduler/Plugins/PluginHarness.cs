using AkkaKube.Actors.Scheduler.Framework;

namespace AkkaKube.Tests.Scheduler.Plugins;

internal static class PluginHarness
{
    /// <summary>PreFilter (if any) over all nodes, then Filter on <paramref name="node"/>. A PreFilter Skip means Success.</summary>
    public static Status Filter(IFilterPlugin plugin, PodInfo pod, NodeInfo node, params NodeInfo[] others)
    {
        var state = new CycleState();
        var all = new List<NodeInfo> { node };
        all.AddRange(others);
        if (plugin is IPreFilterPlugin pre)
        {
            var s = pre.PreFilter(state, pod, all);
            if (s.IsSkip) return Status.SuccessStatus;
            if (!s.IsSuccess) return s;
        }
        return plugin.Filter(state, pod, node);
    }

    /// <summary>PreScore, Score and NormalizeScore over the nodes; returns the normalized scores by node name.</summary>
    public static Dictionary<string, long> Score(IScorePlugin plugin, PodInfo pod, params NodeInfo[] nodes)
    {
        var state = new CycleState();
        if (plugin is IPreScorePlugin pre && pre.PreScore(state, pod, nodes, nodes).IsSkip)
            return nodes.ToDictionary(n => n.Name, _ => 0L);
        var scores = nodes.Select(n => plugin.Score(state, pod, n)).ToArray();
        plugin.NormalizeScore(state, pod, scores);
        return nodes.Select((n, i) => (n.Name, scores[i])).ToDictionary(x => x.Name, x => x.Item2);
    }
}
