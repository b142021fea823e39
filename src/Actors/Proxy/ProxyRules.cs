using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace AkkaKube.Actors.Proxy;

/// <summary>Which traffic policy governs a frontend: ClusterIP traffic is internal; NodePort, LoadBalancer and externalIPs are external.</summary>
public enum FrontendKind { ClusterIp, NodePort, LoadBalancer, ExternalIp }

/// <summary>One listener the proxy should run: a frontend address and the rules for picking backends.</summary>
public sealed record ListenerSpec(string Key, string Service, string PortName, FrontendKind Kind, IPEndPoint Frontend, BalancerRules Rules)
{
    public bool SameRules(ListenerSpec other) =>
        Rules.AffinityTimeout == other.Rules.AffinityTimeout && Rules.Backends.SequenceEqual(other.Rules.Backends);
}

/// <summary>
/// The proxy's decision, as a pure function: from the Services and EndpointSlices it has seen, the set of
/// frontends this node serves and the backends behind each — kube-proxy's "sync rules" step.
/// </summary>
public static class ProxyRules
{
    public const string ServiceNameLabel = "kubernetes.io/service-name";
    public const int DefaultAffinitySeconds = 10800;

    public static IReadOnlyDictionary<string, ListenerSpec> Compute(
        IEnumerable<V1Service> services, IEnumerable<V1EndpointSlice> slices, string nodeName, IPAddress nodeIp)
    {
        var slicesByService = SlicesByService(slices);
        var result = new Dictionary<string, ListenerSpec>(StringComparer.Ordinal);
        foreach (var svc in services)
        {
            if (svc.Metadata?.Name is null || svc.Spec?.Ports is null) continue;
            if (svc.Spec.Type == "ExternalName") continue;
            var key = $"{svc.Metadata.NamespaceProperty}/{svc.Metadata.Name}";
            var svcSlices = slicesByService.GetValueOrDefault(key) ?? [];
            var affinity = svc.Spec.SessionAffinity == "ClientIP"
                ? TimeSpan.FromSeconds(svc.Spec.SessionAffinityConfig?.ClientIP?.TimeoutSeconds ?? DefaultAffinitySeconds)
                : (TimeSpan?)null;
            var internalLocal = svc.Spec.InternalTrafficPolicy == "Local";
            var externalLocal = svc.Spec.ExternalTrafficPolicy == "Local";
            foreach (var port in svc.Spec.Ports)
            {
                if ((port.Protocol ?? "TCP") != "TCP") continue; // UDP/SCTP: not yet (docs/services.md)
                var portName = port.Name ?? "";
                var all = Backends(svcSlices, portName, null);
                var local = internalLocal || externalLocal ? Backends(svcSlices, portName, nodeName) : all;
                var internalRules = new BalancerRules(internalLocal ? local : all, affinity);
                var externalRules = new BalancerRules(externalLocal ? local : all, affinity);

                foreach (var ip in ClusterIps(svc.Spec))
                    Add(result, key, portName, FrontendKind.ClusterIp, new IPEndPoint(ip, port.Port), internalRules);
                foreach (var ip in Ipv4(svc.Spec.ExternalIPs))
                    Add(result, key, portName, FrontendKind.ExternalIp, new IPEndPoint(ip, port.Port), externalRules);
                if (svc.Spec.Type is "NodePort" or "LoadBalancer" && port.NodePort is > 0 and <= 65535)
                    Add(result, key, portName, FrontendKind.NodePort, new IPEndPoint(nodeIp, port.NodePort.Value), externalRules);
                if (svc.Spec.Type == "LoadBalancer")
                    foreach (var ip in Ipv4(svc.Status?.LoadBalancer?.Ingress?.Select(i => i.Ip)))
                        Add(result, key, portName, FrontendKind.LoadBalancer, new IPEndPoint(ip, port.Port), externalRules);
            }
        }
        return result;
    }

    /// <summary>The slices of each service (namespace/name), by their <see cref="ServiceNameLabel"/>.</summary>
    public static Dictionary<string, List<V1EndpointSlice>> SlicesByService(IEnumerable<V1EndpointSlice> slices) => slices
        .Where(s => s.Metadata?.Labels?.ContainsKey(ServiceNameLabel) == true)
        .GroupBy(s => $"{s.Metadata.NamespaceProperty}/{s.Metadata.Labels[ServiceNameLabel]}")
        .ToDictionary(g => g.Key, g => g.ToList());

    /// <summary>
    /// Backends of one service port: ready endpoints (ready unset counts as ready); when none is ready,
    /// serving endpoints that are terminating (kube-proxy's graceful-termination fallback), so a rolling
    /// replacement never leaves the service without a target while old pods still answer.
    /// </summary>
    public static IReadOnlyList<Backend> Backends(IEnumerable<V1EndpointSlice> slices, string portName, string? onlyNode, string protocol = "TCP")
    {
        var ready = new List<Backend>();
        var terminating = new List<Backend>();
        foreach (var slice in slices.OrderBy(s => s.Metadata?.Name, StringComparer.Ordinal))
        {
            if (slice.AddressType is not null && slice.AddressType != "IPv4") continue;
            var port = slice.Ports?.FirstOrDefault(p => (p.Name ?? "") == portName && (p.Protocol ?? "TCP") == protocol);
            if (port?.Port is not int number) continue;
            foreach (var ep in slice.Endpoints ?? [])
            {
                if (onlyNode is not null && ep.NodeName != onlyNode) continue;
                var address = ep.Addresses?.FirstOrDefault();
                if (address is null || !IPAddress.TryParse(address, out var ip)) continue;
                var backend = new Backend(ip, number, ep.NodeName, ep.TargetRef?.Name);
                var isReady = ep.Conditions?.Ready ?? true;
                var serving = ep.Conditions?.Serving ?? isReady;
                var isTerminating = ep.Conditions?.Terminating ?? false;
                if (isReady && !isTerminating) ready.Add(backend);
                else if (serving && isTerminating) terminating.Add(backend);
            }
        }
        var chosen = ready.Count > 0 ? ready : terminating;
        return chosen.Distinct().ToList();
    }

    internal static IEnumerable<IPAddress> ClusterIps(V1ServiceSpec spec)
    {
        var ips = spec.ClusterIPs is { Count: > 0 } ? spec.ClusterIPs : spec.ClusterIP is null ? [] : [spec.ClusterIP];
        return Ipv4(ips);
    }

    internal static IEnumerable<IPAddress> Ipv4(IEnumerable<string?>? values)
    {
        foreach (var value in values ?? [])
            if (value is not null && value != "None" && IPAddress.TryParse(value, out var ip) && ip.AddressFamily == AddressFamily.InterNetwork)
                yield return ip;
    }

    private static void Add(Dictionary<string, ListenerSpec> result, string service, string portName, FrontendKind kind, IPEndPoint frontend, BalancerRules rules)
    {
        var key = $"{frontend}";
        // Two services claiming one IP:port (should not happen: allocation forbids it): first one wins, deterministically.
        result.TryAdd(key, new ListenerSpec(key, service, portName, kind, frontend, rules));
    }

    public static V1Service ToService(JsonObject obj) => KubernetesJson.Deserialize<V1Service>(obj.ToJsonString());

    public static V1EndpointSlice ToSlice(JsonObject obj) => KubernetesJson.Deserialize<V1EndpointSlice>(obj.ToJsonString());
}
