namespace AkkaKube.Actors.Scheduler.Framework;

/// <summary>
/// Cluster-wide counts over the zone label (<see cref="AkkaKubeNames.Labels.Zone"/>) that the system-default
/// topology spread reads for every pod of a workload: how many nodes carry each zone, and, per
/// (namespace, controller uid), how many of its pods (not being deleted) sit in each zone. Kept exact by the
/// <see cref="NodeInfo"/>s attached to it (the scheduler cache attaches every node it holds), so the default zone
/// constraint costs O(zones) per pod instead of a pass over every node. Also counts the pods that declare required
/// anti-affinity, so InterPodAffinity need not look at every node to learn there are none.
/// </summary>
public sealed class ZoneCounts
{
    private readonly Dictionary<string, int> _nodesPerZone = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Namespace, string Owner), Dictionary<string, int>> _owned = new();
    private readonly Dictionary<string, int> _nodesPerHostname = new(StringComparer.Ordinal);
    /// <summary>Nodes beyond the first carrying the same hostname label (0: every hostname is its own node).</summary>
    private int _sharedHostnames;

    /// <summary>Zone value → number of nodes carrying it (only zones with at least one node).</summary>
    public IReadOnlyDictionary<string, int> NodesPerZone => _nodesPerZone;

    /// <summary>
    /// No two attached nodes carry the same <see cref="AkkaKubeNames.Labels.Hostname"/> label (as kubelets set it), so a
    /// hostname domain is exactly one node and its count is that node's own.
    /// </summary>
    public bool HostnamesUnique => _sharedHostnames == 0;

    /// <summary>Pods with required pod anti-affinity terms on the attached nodes.</summary>
    public int PodsWithRequiredAntiAffinity { get; private set; }

    /// <summary>Pods (not being deleted) in <paramref name="ns"/> owned by controller <paramref name="owner"/> on nodes of <paramref name="zone"/>.</summary>
    public int OwnedBy(string ns, string owner, string zone) =>
        _owned.TryGetValue((ns, owner), out var zones) && zones.TryGetValue(zone, out var n) ? n : 0;

    /// <summary>Zone → pod count for one owner, or null when it has no pod in any zone.</summary>
    public IReadOnlyDictionary<string, int>? ZonesOf(string ns, string owner) => _owned.GetValueOrDefault((ns, owner));

    internal void AddNode(NodeInfo node) => Apply(node, +1);

    internal void RemoveNode(NodeInfo node) => Apply(node, -1);

    private void Apply(NodeInfo node, int sign)
    {
        PodsWithRequiredAntiAffinity += sign * node.PodsWithRequiredAntiAffinity;
        if (node.Hostname is { } hostname)
        {
            var before = _nodesPerHostname.GetValueOrDefault(hostname);
            if (sign > 0 ? before >= 1 : before >= 2) _sharedHostnames += sign;
            Add(_nodesPerHostname, hostname, sign);
        }
        if (node.Zone is not { } zone) return;
        Add(_nodesPerZone, zone, sign);
        foreach (var (key, n) in node.OwnedCounts) OwnedChanged(zone, key, sign * n);
    }

    /// <summary>A pod of <paramref name="key"/> came onto (+) or left (−) an attached node.</summary>
    internal void OwnedChanged(NodeInfo node, (string Namespace, string Owner) key, int delta)
    {
        if (node.Zone is { } zone) OwnedChanged(zone, key, delta);
    }

    internal void AntiAffinityChanged(int delta) => PodsWithRequiredAntiAffinity += delta;

    private void OwnedChanged(string zone, (string, string) key, int delta)
    {
        if (!_owned.TryGetValue(key, out var zones)) _owned[key] = zones = new Dictionary<string, int>(StringComparer.Ordinal);
        Add(zones, zone, delta);
        if (zones.Count == 0) _owned.Remove(key);
    }

    private static void Add(Dictionary<string, int> counts, string key, int delta)
    {
        var n = counts.GetValueOrDefault(key) + delta;
        if (n <= 0) counts.Remove(key);
        else counts[key] = n;
    }
}

/// <summary>
/// The nodes one scheduling cycle runs over (the cache's, in a stable order) together with the cache's
/// <see cref="ZoneCounts"/>. Plugins that find their input is a <see cref="NodeSnapshot"/> may read the counts
/// instead of walking every node; over a plain list they count (tests, other callers).
/// </summary>
public sealed class NodeSnapshot(IReadOnlyList<NodeInfo> nodes, ZoneCounts zones) : IReadOnlyList<NodeInfo>
{
    public ZoneCounts Zones { get; } = zones;
    public NodeInfo this[int index] => nodes[index];
    public int Count => nodes.Count;
    public IEnumerator<NodeInfo> GetEnumerator() => nodes.GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
