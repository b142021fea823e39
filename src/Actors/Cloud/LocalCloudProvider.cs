using System.Net;
using Akka.Configuration;
using AkkaKube.Actors.Services;
using k8s.Models;

namespace AkkaKube.Actors.Cloud;

/// <summary>Cloud settings (HOCON block <c>akkakube.cloud</c> in hocon/control-plane.conf).</summary>
public sealed record CloudSettings(string Provider, string LoadBalancerCidr)
{
    public static readonly CloudSettings Default = new("local", "127.200.0.0/22");

    /// <summary>How often Nodes that are not Ready are checked against their instance (Kubernetes: 5 s).</summary>
    public TimeSpan NodeMonitorPeriod { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>A not-Ready Node is deleted when its instance has been gone at every check for this long.</summary>
    public TimeSpan NodeDeletionGrace { get; init; } = TimeSpan.FromSeconds(10);

    public static CloudSettings Create(Config config)
    {
        var c = config.GetConfig("akkakube.cloud");
        if (c is null || c.IsEmpty) return Default;
        var settings = new CloudSettings(c.GetString("provider", Default.Provider), c.GetString("load-balancer-cidr", Default.LoadBalancerCidr))
        {
            NodeMonitorPeriod = c.GetTimeSpan("node-monitor-period", Default.NodeMonitorPeriod),
            NodeDeletionGrace = c.GetTimeSpan("node-deletion-grace", Default.NodeDeletionGrace),
        };
        if (settings.NodeMonitorPeriod <= TimeSpan.Zero)
            throw new ArgumentException($"akkakube.cloud.node-monitor-period: must be positive (got {settings.NodeMonitorPeriod})");
        if (settings.NodeDeletionGrace < TimeSpan.Zero)
            throw new ArgumentException($"akkakube.cloud.node-deletion-grace: must not be negative (got {settings.NodeDeletionGrace})");
        if (settings.Provider != "local")
            throw new ArgumentException($"akkakube.cloud.provider: unknown provider '{settings.Provider}' (supported: local)");
        _ = new LocalLoadBalancers(settings.LoadBalancerCidr); // validates the CIDR, naming the option
        return settings;
    }
}

/// <summary>
/// The single-machine cloud: load-balancer addresses from 127.200.0.0/16 (served by every proxy like ClusterIPs),
/// and, given the cluster's data directory, the node processes the local launcher started as instances.
/// </summary>
public sealed class LocalCloudProvider(CloudSettings settings, string? dataDirectory = null, string region = "local") : ICloudProvider
{
    public string Name => "local";
    public ILoadBalancers? LoadBalancers { get; } = new LocalLoadBalancers(settings.LoadBalancerCidr);
    public IInstances? Instances { get; } = dataDirectory is null ? null : new LocalInstances(dataDirectory, region);
}

/// <summary>
/// Load-balancer IPs from a CIDR: one per service (keyed namespace/name), <c>spec.loadBalancerIP</c> honoured
/// when free and in range, otherwise the lowest free address; adopted back from the services' status after a restart.
/// </summary>
public sealed class LocalLoadBalancers : ILoadBalancers
{
    private readonly object _gate = new();
    private readonly uint _first;
    private readonly uint _last;
    private readonly Dictionary<string, uint> _byService = new(StringComparer.Ordinal);
    private readonly HashSet<uint> _used = [];

    public LocalLoadBalancers(string cidr)
    {
        var parts = cidr.Split('/');
        if (parts.Length != 2 || !IPAddress.TryParse(parts[0], out var ip) || ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork
            || !int.TryParse(parts[1], out var bits) || bits is < 8 or > 30)
            throw new ArgumentException($"akkakube.cloud.load-balancer-cidr: '{cidr}' is not an IPv4 CIDR with a prefix between /8 and /30");
        var mask = uint.MaxValue << (32 - bits);
        var network = ServiceIpMath.ToUInt(ip) & mask;
        _first = network + 1;
        _last = (network | ~mask) - 1;
    }

    private static string Key(V1Service svc) => $"{svc.Metadata.NamespaceProperty}/{svc.Metadata.Name}";

    public void Adopt(IEnumerable<V1Service> services)
    {
        lock (_gate)
        {
            foreach (var svc in services)
            {
                if (svc.Spec?.Type != "LoadBalancer") continue;
                foreach (var ingress in svc.Status?.LoadBalancer?.Ingress ?? [])
                    if (ingress.Ip is { } text && IPAddress.TryParse(text, out var ip) && InRange(ServiceIpMath.ToUInt(ip))
                        && !_byService.ContainsKey(Key(svc)) && _used.Add(ServiceIpMath.ToUInt(ip)))
                        _byService[Key(svc)] = ServiceIpMath.ToUInt(ip);
            }
        }
    }

    public Task<V1LoadBalancerStatus> EnsureAsync(V1Service service, CancellationToken ct = default)
    {
        lock (_gate)
        {
            var key = Key(service);
            uint? wanted = IPAddress.TryParse(service.Spec?.LoadBalancerIP ?? "", out var requested) && InRange(ServiceIpMath.ToUInt(requested))
                ? ServiceIpMath.ToUInt(requested) : null;
            if (_byService.TryGetValue(key, out var current) && (wanted is null || wanted == current))
                return Task.FromResult(Status(current));
            if (_byService.Remove(key, out var previous)) _used.Remove(previous);
            uint? chosen = wanted is { } w && !_used.Contains(w) ? w : null;
            for (var n = _first; chosen is null && n <= _last; n++)
                if (!_used.Contains(n)) chosen = n;
            if (chosen is null)
                throw new InvalidOperationException("the load-balancer address range is exhausted");
            _used.Add(chosen.Value);
            _byService[key] = chosen.Value;
            return Task.FromResult(Status(chosen.Value));
        }
    }

    public Task EnsureDeletedAsync(V1Service service, CancellationToken ct = default)
    {
        lock (_gate)
        {
            if (_byService.Remove(Key(service), out var ip)) _used.Remove(ip);
        }
        return Task.CompletedTask;
    }

    private bool InRange(uint n) => n >= _first && n <= _last;

    private static V1LoadBalancerStatus Status(uint ip) =>
        new() { Ingress = [new V1LoadBalancerIngress { Ip = ServiceIpMath.ToAddress(ip).ToString(), IpMode = "VIP" }] };
}
