using AkkaKube.Actors.Cluster;

namespace AkkaKube.Cli;

/// <summary>One planned node of a local cluster.</summary>
public sealed record PlannedNode(string Name, int Ordinal, bool ControlPlane, bool Worker, string Zone, int HollowNodes = 0)
{
    /// <summary>The Node objects this process registers: its own name, or &lt;name&gt;-hollow-&lt;i&gt; for a hollow-only worker.</summary>
    public IEnumerable<string> NodeNames => HollowNodes > 0 ? Enumerable.Range(0, HollowNodes).Select(i => $"{Name}-hollow-{i}") : Worker ? [Name] : [];

    public string Ip => NodeOptions.NodeIpFor(Ordinal).ToString();
    public string PodCidr => NodeOptions.PodCidrFor(Ordinal);
    public string Roles => string.Join(",", new[] { ControlPlane ? "control-plane" : null, Worker ? "worker" : null }.OfType<string>());
}

/// <summary>
/// The topology of a local cluster: control-plane nodes cp-1..cp-N, then workers spread round-robin over the
/// zones and named after their zone (zone-a → worker-a1, worker-a2; zone "east" → worker-east1). Node k of address
/// block b gets 127.1.b.k and the pod /24 127.(64+b).k.0 (<see cref="AddressBlocks"/>). Control-plane nodes are
/// spread over the zones the same way.
/// <paramref name="hollowNodes"/> &gt; 0 adds hollow-only worker processes (hollow-a1, hollow-b1, …; at least one per
/// zone, at most <see cref="MaxHollowPerProcess"/> hollow kubelets each) that run the N simulated kubelets between them,
/// named &lt;process&gt;-hollow-&lt;i&gt; and labelled with their process's zone.
/// </summary>
public static class ClusterLayout
{
    public const int MaxHollowPerProcess = 1000;
    public const int MaxHollowNodes = 20000;

    public static IReadOnlyList<PlannedNode> Plan(int controlPlanes, int workers, IReadOnlyList<string> zones, int hollowNodes = 0, int addressBlock = 0)
    {
        if (addressBlock is < 0 or > AddressBlocks.Max) throw new CliException($"--address-block must be between 0 and {AddressBlocks.Max}");
        if (hollowNodes is < 0 or > MaxHollowNodes) throw new CliException($"--hollow-nodes must be between 0 and {MaxHollowNodes}");
        if (controlPlanes < 1) throw new CliException("--control-planes must be at least 1");
        if (workers < 0) throw new CliException("--workers must be 0 or more");
        if (controlPlanes + workers > 250) throw new CliException("at most 250 nodes in a local cluster");
        if (zones.Count == 0) throw new CliException("--zones needs at least one zone");
        foreach (var z in zones)
            if (!Host.NodeCommandLine.IsDns1123Label(z))
                throw new CliException($"--zones: '{z}' must be a DNS-1123 label (lower-case letters, digits, '-')");
        if (zones.Distinct().Count() != zones.Count) throw new CliException("--zones: a zone is named twice");

        var nodes = new List<PlannedNode>();
        var ordinal = AddressBlocks.OrdinalBase(addressBlock);
        for (var i = 0; i < controlPlanes; i++)
            nodes.Add(new PlannedNode($"cp-{i + 1}", ++ordinal, true, false, zones[i % zones.Count]));
        var perZone = new Dictionary<string, int>();
        for (var i = 0; i < workers; i++)
        {
            var zone = zones[i % zones.Count];
            var n = perZone[zone] = perZone.GetValueOrDefault(zone) + 1;
            nodes.Add(new PlannedNode($"worker-{Suffix(zone)}{n}", ++ordinal, false, true, zone));
        }
        if (hollowNodes > 0)
        {
            var processes = Math.Min(hollowNodes, Math.Max(zones.Count, (hollowNodes + MaxHollowPerProcess - 1) / MaxHollowPerProcess));
            var hollowPerZone = new Dictionary<string, int>();
            for (var i = 0; i < processes; i++)
            {
                var zone = zones[i % zones.Count];
                var n = hollowPerZone[zone] = hollowPerZone.GetValueOrDefault(zone) + 1;
                var share = hollowNodes / processes + (i < hollowNodes % processes ? 1 : 0);
                nodes.Add(new PlannedNode($"hollow-{Suffix(zone)}{n}", ++ordinal, false, true, zone, share));
            }
        }
        return nodes;
    }

    private static string Suffix(string zone) => zone.StartsWith("zone-", StringComparison.Ordinal) ? zone["zone-".Length..] : zone;
}

/// <summary>A user-facing error: one line, non-zero exit, no stack trace.</summary>
public sealed class CliException(string message, int exitCode = 1) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
