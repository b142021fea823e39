using System.Globalization;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace AkkaKube.Actors.Services;

/// <summary>
/// Docker-links-style service environment variables, as the kubelet injects them into containers:
/// for every service of the pod's namespace that has a ClusterIP (not headless, not ExternalName) when the
/// pod starts — only the `kubernetes` service of `default` when <c>enableServiceLinks: false</c> —
/// <c>NAME_SERVICE_HOST</c>, <c>NAME_SERVICE_PORT</c>, <c>NAME_SERVICE_PORT_&lt;PORTNAME&gt;</c>, <c>NAME_PORT</c>
/// and <c>NAME_PORT_&lt;port&gt;_&lt;PROTO&gt;[_PROTO|_PORT|_ADDR]</c>. The container's own env wins over these.
/// </summary>
public static class ServiceEnv
{
    /// <summary>The variables for a pod in <paramref name="podNamespace"/>, sorted by name (kubelet: before the container's own env).</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> For(string podNamespace, bool enableServiceLinks, IEnumerable<V1Service> services)
    {
        var chosen = new Dictionary<string, V1Service>(StringComparer.Ordinal);
        foreach (var svc in services)
        {
            var ns = svc.Metadata?.NamespaceProperty;
            var name = svc.Metadata?.Name;
            if (name is null || !HasClusterIp(svc)) continue;
            var isKubernetes = ns == ServiceNetworkSettings.KubernetesServiceNamespace && name == ServiceNetworkSettings.KubernetesServiceName;
            if (ns == podNamespace && (enableServiceLinks || isKubernetes)) chosen[name] = svc;
            else if (isKubernetes && !chosen.ContainsKey(name)) chosen[name] = svc; // the master service is always there
        }
        var env = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var svc in chosen.Values)
            foreach (var (key, value) in VariablesOf(svc))
                env[key] = value;
        return env.ToList();
    }

    /// <summary>Same, over the stored JSON of the services (what an informer cache holds).</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> For(string podNamespace, bool enableServiceLinks, IEnumerable<JsonObject> services) =>
        For(podNamespace, enableServiceLinks, services.Select(s => KubernetesJson.Deserialize<V1Service>(s.ToJsonString())));

    /// <summary>The container's environment: service variables first, the container's own variables override them.</summary>
    public static IReadOnlyDictionary<string, string> Merge(IEnumerable<KeyValuePair<string, string>> serviceEnv, IEnumerable<KeyValuePair<string, string>> containerEnv)
    {
        var merged = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in serviceEnv) merged[k] = v;
        foreach (var (k, v) in containerEnv) merged[k] = v;
        return merged;
    }

    private static bool HasClusterIp(V1Service svc) =>
        svc.Spec?.Type != "ExternalName" && !string.IsNullOrEmpty(svc.Spec?.ClusterIP) && svc.Spec.ClusterIP != "None"
        && svc.Spec.Ports is { Count: > 0 };

    private static IEnumerable<KeyValuePair<string, string>> VariablesOf(V1Service svc)
    {
        var prefix = EnvName(svc.Metadata.Name);
        var ip = svc.Spec.ClusterIP;
        var first = svc.Spec.Ports[0];
        yield return new($"{prefix}_SERVICE_HOST", ip);
        yield return new($"{prefix}_SERVICE_PORT", Num(first.Port));
        yield return new($"{prefix}_PORT", $"{Proto(first).ToLowerInvariant()}://{ip}:{Num(first.Port)}");
        foreach (var port in svc.Spec.Ports)
        {
            if (!string.IsNullOrEmpty(port.Name))
                yield return new($"{prefix}_SERVICE_PORT_{EnvName(port.Name)}", Num(port.Port));
            var proto = Proto(port);
            var base_ = $"{prefix}_PORT_{Num(port.Port)}_{proto}";
            yield return new(base_, $"{proto.ToLowerInvariant()}://{ip}:{Num(port.Port)}");
            yield return new($"{base_}_PROTO", proto.ToLowerInvariant());
            yield return new($"{base_}_PORT", Num(port.Port));
            yield return new($"{base_}_ADDR", ip);
        }
    }

    private static string Proto(V1ServicePort port) => (port.Protocol ?? "TCP").ToUpperInvariant();

    private static string Num(int port) => port.ToString(CultureInfo.InvariantCulture);

    public static string EnvName(string name) => name.ToUpperInvariant().Replace('-', '_');
}
