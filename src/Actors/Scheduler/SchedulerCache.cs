using AkkaKube.Actors.Scheduler.Framework;
using k8s.Models;

namespace AkkaKube.Actors.Scheduler;

/// <summary>
/// The scheduler's own view of node usage (kube-scheduler's cache). A pod is Assumed on its node the moment
/// the cycle picks it (before the binding call returns), so the next cycle already counts it: a burst never
/// overcommits. The informer's confirmation (the pod seen with spec.nodeName) turns it into Bound; a failed
/// binding Forgets it.
/// </summary>
public sealed class SchedulerCache
{
    public enum PodState { Assumed, Binding, Bound }

    private sealed record Entry(PodInfo Pod, string NodeName, PodState State);

    private readonly Dictionary<string, NodeInfo> _nodes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Entry> _pods = new(StringComparer.Ordinal);
    /// <summary>Pods reported on nodes the cache does not know yet (a pod event before its node's).</summary>
    private readonly Dictionary<string, Dictionary<string, PodInfo>> _orphans = new(StringComparer.Ordinal);
    private readonly ZoneCounts _zones = new();
    private NodeSnapshot? _nodeList;

    public int NodeCount => _nodes.Count;
    public int PodCount => _pods.Count;

    /// <summary>The nodes in a stable order (by name), rebuilt only when the node set changes, with the cache's <see cref="Zones"/>.</summary>
    public NodeSnapshot Nodes => _nodeList ??= new NodeSnapshot(_nodes.Values.OrderBy(n => n.Name, StringComparer.Ordinal).ToList(), _zones);

    /// <summary>Per-zone node and owner counts over every node in the cache, kept exact on every change.</summary>
    public ZoneCounts Zones => _zones;

    public NodeInfo? GetNode(string name) => _nodes.GetValueOrDefault(name);

    public PodState? StateOf(string podKey) => _pods.TryGetValue(podKey, out var e) ? e.State : null;

    public string? NodeOf(string podKey) => _pods.TryGetValue(podKey, out var e) ? e.NodeName : null;

    public void AddOrUpdateNode(V1Node node)
    {
        var name = node.Metadata?.Name ?? "";
        if (_nodes.TryGetValue(name, out var existing))
        {
            existing.SetNode(node);
            return;
        }
        var info = new NodeInfo(node);
        info.Attach(_zones);
        if (_orphans.Remove(name, out var waiting))
            foreach (var p in waiting.Values) info.AddPod(p);
        _nodes[name] = info;
        _nodeList = null;
    }

    public void RemoveNode(string name)
    {
        if (!_nodes.Remove(name, out var info)) return;
        info.Detach();
        _nodeList = null;
        // Pods stay in the cache (they still exist); they come back when the node does.
        var waiting = new Dictionary<string, PodInfo>(StringComparer.Ordinal);
        foreach (var p in info.Pods) waiting[p.Key] = p;
        if (waiting.Count > 0) _orphans[name] = waiting;
    }

    /// <summary>Counts the pod on the node before binding. Assuming an already known pod is a bug → false.</summary>
    public bool Assume(PodInfo pod, string nodeName)
    {
        if (_pods.ContainsKey(pod.Key)) return false;
        _pods[pod.Key] = new Entry(pod, nodeName, PodState.Assumed);
        Place(pod, nodeName);
        return true;
    }

    /// <summary>The binding call has been sent.</summary>
    public void FinishBinding(string podKey)
    {
        if (_pods.TryGetValue(podKey, out var e) && e.State == PodState.Assumed)
            _pods[podKey] = e with { State = PodState.Binding };
    }

    /// <summary>The pod of an Assumed or Binding entry (as parsed when it was assumed), else null.</summary>
    public PodInfo? AssumedPod(string podKey) =>
        _pods.TryGetValue(podKey, out var e) && e.State != PodState.Bound ? e.Pod : null;

    /// <summary>
    /// The informer saw the binding of an assumed pod and nothing else changed: the entry becomes Bound as it is,
    /// on the node it was assumed on. (A changed pod goes through <see cref="AddOrUpdateBoundPod"/> instead.)
    /// </summary>
    public void Confirm(string podKey)
    {
        if (_pods.TryGetValue(podKey, out var e) && e.State != PodState.Bound)
            _pods[podKey] = e with { State = PodState.Bound };
    }

    /// <summary>The binding failed: the assumed pod no longer counts.</summary>
    public void Forget(string podKey)
    {
        if (!_pods.TryGetValue(podKey, out var e) || e.State == PodState.Bound) return;
        _pods.Remove(podKey);
        Unplace(e.Pod.Key, e.NodeName);
    }

    /// <summary>A pod seen assigned (spec.nodeName) by the informer: confirms an assumed pod or adds a bound one.</summary>
    public void AddOrUpdateBoundPod(PodInfo pod)
    {
        var nodeName = pod.NodeName!;
        if (_pods.TryGetValue(pod.Key, out var e))
            Unplace(pod.Key, e.NodeName);
        _pods[pod.Key] = new Entry(pod, nodeName, PodState.Bound);
        Place(pod, nodeName);
    }

    public void RemovePod(string podKey)
    {
        if (!_pods.Remove(podKey, out var e)) return;
        Unplace(podKey, e.NodeName);
    }

    private void Place(PodInfo pod, string nodeName)
    {
        if (_nodes.TryGetValue(nodeName, out var node)) node.AddPod(pod);
        else
        {
            if (!_orphans.TryGetValue(nodeName, out var waiting)) _orphans[nodeName] = waiting = new(StringComparer.Ordinal);
            waiting[pod.Key] = pod;
        }
    }

    private void Unplace(string podKey, string nodeName)
    {
        if (_nodes.TryGetValue(nodeName, out var node)) node.RemovePod(podKey);
        else if (_orphans.TryGetValue(nodeName, out var waiting)) waiting.Remove(podKey);
    }
}
