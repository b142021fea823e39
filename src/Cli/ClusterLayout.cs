using AkkaKube.Actors.Cluster;

namespace AkkaKube.Cli;

/// <summary>One planned node of a local cluster.</summary>
public sealed record PlannedNode(string Name, int Ordinal, bool ControlPlane, bool Worker, string Zone)
{
    public string Ip => NodeOptions.NodeIpFor(Ordinal).ToString();
    public string PodCidr => NodeOptions.PodCidrFor(Ordinal);
    public string Roles => string.Join(",", new[] { ControlPlane ? "control-plane" : null, Worker ? "worker" : null }.OfType<string>());
}

/// <summary>
/// The topology of a local cluster: control-plane nodes cp-1..cp-N, then workers spread round-robin over the
/// zones and named after their zone (zone-a → worker-a1, worker-a2; zone "east" → worker-east1). Node k gets
/// 127.1.0.k and the k-th pod /24. Control-plane nodes are spread over the zones the same way.
/// </summary>
public static class ClusterLayout
{
    public static IReadOnlyList<PlannedNode> Plan(int controlPlanes, int workers, IReadOnlyList<string> zones)
    {
        if (controlPlanes < 1) throw new CliException("--control-planes must be at least 1");
        if (workers < 0) throw new CliException("--workers must be 0 or more");
        if (controlPlanes + workers > 250) throw new CliException("at most 250 nodes in a local cluster");
        if (zones.Count == 0) throw new CliException("--zones needs at least one zone");
        foreach (var z in zones)
            if (!Host.NodeCommandLine.IsDns1123Label(z))
                throw new CliException($"--zones: '{z}' must be a DNS-1123 label (lower-case letters, digits, '-')");
        if (zones.Distinct().Count() != zones.Count) throw new CliException("--zones: a zone is named twice");

        var nodes = new List<PlannedNode>();
        var ordinal = 0;
        for (var i = 0; i < controlPlanes; i++)
            nodes.Add(new PlannedNode($"cp-{i + 1}", ++ordinal, true, false, zones[i % zones.Count]));
        var perZone = new Dictionary<string, int>();
        for (var i = 0; i < workers; i++)
        {
            var zone = zones[i % zones.Count];
            var n = perZone[zone] = perZone.GetValueOrDefault(zone) + 1;
            var suffix = zone.StartsWith("zone-", StringComparison.Ordinal) ? zone["zone-".Length..] : zone;
            nodes.Add(new PlannedNode($"worker-{suffix}{n}", ++ordinal, false, true, zone));
        }
        return nodes;
    }
}

/// <summary>A user-facing error: one line, non-zero exit, no stack trace.</summary>
public sealed class CliException(string message, int exitCode = 1) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
