namespace AkkaKube.Actors.Controllers.NodeLifecycle;

public enum Health { Healthy, NotReady, Unknown }

public enum ZoneState { Normal, PartialDisruption, FullDisruption }

/// <summary>A taint as the controller reasons about it (key, effect and when it was added).</summary>
public sealed record Taint(string Key, string Effect, DateTime? TimeAdded = null, string? Value = null);

/// <summary>What the controller knows of one node at a tick.</summary>
public sealed record NodeView(
    string Name,
    string Zone,
    string? ReadyStatus,         // the Ready condition as stored: "True", "False", "Unknown" or null
    DateTime? LeaseRenewed,      // the node's Lease renewTime
    bool MemberUnreachable,      // Akka failure detector: the node's process is unreachable
    bool MemberRemoved,          // the node's member was downed/removed: its process is gone
    IReadOnlyList<Taint> Taints);

/// <summary>Decisions of one tick, for the actor to carry out.</summary>
public sealed record NodeDecision(string Node, bool MarkUnknown, IReadOnlyList<Taint> Add, IReadOnlyList<Taint> Remove);

/// <summary>
/// Node health from two sources — the node's Lease (kubelet alive and talking to the API) and Akka
/// cluster membership (phi-accrual reachability, removal) — whichever notices first. Unhealthy nodes
/// get Ready=Unknown and the `unreachable` taints (`not-ready` when the kubelet itself reports
/// NotReady). NoExecute taints, which lead to evictions, are rate-limited per zone as Kubernetes'
/// node lifecycle controller does: a zone that is partially disrupted is slowed or stopped, a zone
/// that is wholly down is evacuated at the normal rate (unless every zone is down, which looks like
/// the control plane's own trouble and stops all evictions).
/// </summary>
public sealed class NodeHealthEvaluator(NodeLifecycleSettings settings)
{
    public const string UnreachableTaint = "node.kubernetes.io/unreachable";
    public const string NotReadyTaint = "node.kubernetes.io/not-ready";
    public const string NoExecute = "NoExecute";
    public const string NoSchedule = "NoSchedule";

    private readonly Dictionary<string, TokenBucket> _buckets = new(StringComparer.Ordinal);

    public static Health HealthOf(NodeView n, DateTime now, TimeSpan grace)
    {
        if (n.MemberRemoved || n.MemberUnreachable) return Health.Unknown;
        if (n.LeaseRenewed is null || now - n.LeaseRenewed.Value > grace) return Health.Unknown;
        return n.ReadyStatus == "False" ? Health.NotReady : Health.Healthy;
    }

    public ZoneState StateOf(IReadOnlyCollection<Health> zone)
    {
        var unhealthy = zone.Count(h => h != Health.Healthy);
        if (zone.Count > 0 && unhealthy == zone.Count) return ZoneState.FullDisruption;
        if (unhealthy > 2 && unhealthy >= settings.UnhealthyZoneThreshold * zone.Count) return ZoneState.PartialDisruption;
        return ZoneState.Normal;
    }

    public (IReadOnlyList<NodeDecision> Decisions, IReadOnlyDictionary<string, ZoneState> Zones) Evaluate(IReadOnlyList<NodeView> nodes, DateTime now)
    {
        var health = nodes.ToDictionary(n => n.Name, n => HealthOf(n, now, settings.GracePeriod), StringComparer.Ordinal);
        var zones = nodes.GroupBy(n => n.Zone, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => StateOf(g.Select(n => health[n.Name]).ToList()), StringComparer.Ordinal);
        var allDown = zones.Count > 0 && zones.Values.All(z => z == ZoneState.FullDisruption);

        var decisions = new List<NodeDecision>();
        foreach (var n in nodes.OrderBy(n => n.Name, StringComparer.Ordinal))
        {
            var h = health[n.Name];
            var wanted = h switch
            {
                Health.Unknown => new[] { new Taint(UnreachableTaint, NoSchedule), new Taint(UnreachableTaint, NoExecute) },
                Health.NotReady => new[] { new Taint(NotReadyTaint, NoSchedule), new Taint(NotReadyTaint, NoExecute) },
                _ => [],
            };
            var managed = n.Taints.Where(t => t.Key is UnreachableTaint or NotReadyTaint).ToList();
            var remove = managed.Where(t => !wanted.Any(w => w.Key == t.Key && w.Effect == t.Effect)).ToList();
            var add = new List<Taint>();
            foreach (var w in wanted)
            {
                if (managed.Any(t => t.Key == w.Key && t.Effect == w.Effect)) continue;
                if (w.Effect == NoExecute && !MayEvict(n.Zone, zones[n.Zone], allDown, now, nodes.Count(x => x.Zone == n.Zone)))
                    continue;
                add.Add(w with { TimeAdded = now });
            }
            var markUnknown = h == Health.Unknown && n.ReadyStatus != "Unknown";
            if (markUnknown || add.Count > 0 || remove.Count > 0)
                decisions.Add(new NodeDecision(n.Name, markUnknown, add, remove));
        }
        return (decisions, zones);
    }

    private bool MayEvict(string zone, ZoneState state, bool allDown, DateTime now, int zoneSize)
    {
        if (allDown) return false;
        var rate = state switch
        {
            ZoneState.PartialDisruption => zoneSize > settings.LargeClusterSizeThreshold ? settings.SecondaryEvictionRate : 0,
            _ => settings.EvictionRate,
        };
        if (rate <= 0) return false;
        if (!_buckets.TryGetValue(zone, out var bucket))
            _buckets[zone] = bucket = new TokenBucket(settings.EvictionBurst, now);
        return bucket.TryTake(rate, now);
    }

    private sealed class TokenBucket(int burst, DateTime start)
    {
        private double _tokens = burst;
        private DateTime _last = start;

        public bool TryTake(double rate, DateTime now)
        {
            _tokens = Math.Min(burst, _tokens + (now - _last).TotalSeconds * rate);
            _last = now;
            if (_tokens < 1) return false;
            _tokens -= 1;
            return true;
        }
    }
}
