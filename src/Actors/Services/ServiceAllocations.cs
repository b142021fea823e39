using System.Net;
using System.Text.Json.Nodes;

namespace AkkaKube.Actors.Services;

/// <summary>The outcome of admitting a service: the defaulted, allocated object, or the 422 causes.</summary>
public sealed record ServiceAdmission(JsonObject? Service, IReadOnlyList<ServiceFieldError> Errors)
{
    public bool Ok => Errors.Count == 0;
}

/// <summary>
/// ClusterIP and NodePort allocation, as the Kubernetes apiserver's allocators do it, derived from the stored
/// services: <see cref="Reset"/>/<see cref="Observe"/>/<see cref="Forget"/> mirror what the store holds, so a
/// restart never hands out an address a stored service has. <see cref="Admit"/> validates, defaults, copies
/// allocated values an update left out, and claims new allocations; a claim the store does not confirm
/// (the create failed) is released after <see cref="ServiceNetworkSettings.PendingClaimTtl"/>.
/// Not thread-safe: one owner (the allocator actor) drives it.
/// </summary>
public sealed class ServiceAllocations
{
    private readonly ServiceNetworkSettings _settings;
    private readonly Func<DateTimeOffset> _clock;
    private readonly Random _random;
    private readonly Dictionary<string, Held> _stored = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (Held Held, DateTimeOffset Expires)> _pending = new(StringComparer.Ordinal);

    private sealed record Held(IReadOnlySet<uint> Ips, IReadOnlySet<int> NodePorts)
    {
        public static readonly Held None = new(new HashSet<uint>(), new HashSet<int>());
    }

    public ServiceAllocations(ServiceNetworkSettings settings, Func<DateTimeOffset>? clock = null, Random? random = null)
    {
        _settings = settings;
        _clock = clock ?? (() => DateTimeOffset.UtcNow);
        _random = random ?? new Random();
    }

    public static string KeyOf(JsonObject svc) =>
        $"{ServiceValidation.Str(svc["metadata"]?["namespace"]) ?? ""}/{ServiceValidation.Str(svc["metadata"]?["name"]) ?? ""}";

    public int AllocatedIps => Live().SelectMany(h => h.Ips).Distinct().Count();

    public void Reset(IEnumerable<JsonObject> stored)
    {
        _stored.Clear();
        foreach (var svc in stored) Observe(svc);
    }

    /// <summary>A service as the store now holds it (created or updated).</summary>
    public void Observe(JsonObject svc)
    {
        var key = KeyOf(svc);
        var held = HeldBy(svc);
        _stored[key] = held;
        if (_pending.TryGetValue(key, out var pending) && pending.Held.Ips.IsSubsetOf(held.Ips) && pending.Held.NodePorts.IsSubsetOf(held.NodePorts))
            _pending.Remove(key);
    }

    /// <summary>A service the store deleted: its addresses are free again.</summary>
    public void Forget(JsonObject svc) => _stored.Remove(KeyOf(svc));

    /// <summary>
    /// Validate, default and allocate a service being created (<paramref name="old"/> null) or updated.
    /// The returned object is a copy; dry runs validate and allocate without claiming.
    /// </summary>
    public ServiceAdmission Admit(JsonObject service, JsonObject? old, bool dryRun = false)
    {
        var svc = (JsonObject)service.DeepClone();
        var spec = svc["spec"] as JsonObject ?? new JsonObject();
        svc["spec"] = spec;
        if (old is not null) CarryAllocated(spec, old["spec"] as JsonObject);
        Default(spec);

        var errors = ServiceValidation.Validate(svc, _settings);
        if (old is not null) errors.AddRange(ServiceValidation.ValidateUpdate(svc, old));
        if (errors.Count > 0) return new ServiceAdmission(null, errors);

        var key = KeyOf(svc);
        var taken = Taken(except: key);
        var type = ServiceValidation.Str(spec["type"]) ?? "ClusterIP";
        var ips = new HashSet<uint>();
        var nodePorts = new HashSet<int>();

        if (type != "ExternalName")
        {
            var requested = ServiceValidation.Str(spec["clusterIP"]);
            if (requested == "None")
            {
                spec["clusterIPs"] = new JsonArray("None");
            }
            else if (!string.IsNullOrEmpty(requested))
            {
                var n = ServiceIpMath.ToUInt(IPAddress.Parse(requested));
                var isKubernetes = key == $"{ServiceNetworkSettings.KubernetesServiceNamespace}/{ServiceNetworkSettings.KubernetesServiceName}";
                if (taken.Ips.Contains(n) || (n == _settings.FirstIp && !isKubernetes))
                    errors.Add(ServiceFieldError.Invalid("spec.clusterIPs[0]", requested, $"failed to allocate IP {requested}: provided IP is already allocated"));
                ips.Add(n);
            }
            else if (NextIp(taken.Ips) is { } free)
            {
                ips.Add(free);
                var text = ServiceIpMath.ToAddress(free).ToString();
                spec["clusterIP"] = text;
                spec["clusterIPs"] = new JsonArray(text);
            }
            else
                errors.Add(new ServiceFieldError("FieldValueInvalid", "spec.clusterIPs", $"Internal error: failed to allocate a serviceIP: range is full ({_settings.ServiceCidr})"));
            if (requested != "None")
            {
                spec["ipFamilies"] ??= new JsonArray("IPv4");
                spec["ipFamilyPolicy"] ??= "SingleStack";
            }
        }

        var wantsNodePorts = type == "NodePort"
            || (type == "LoadBalancer" && (spec["allocateLoadBalancerNodePorts"] is not JsonValue a || !a.TryGetValue<bool>(out var alloc) || alloc));
        if (wantsNodePorts && spec["ports"] is JsonArray ports)
        {
            for (var i = 0; i < ports.Count; i++)
            {
                if (ports[i] is not JsonObject p) continue;
                if (ServiceValidation.TryInt(p["nodePort"], out var requested) && requested != 0)
                {
                    if (taken.NodePorts.Contains(requested) || !nodePorts.Add(requested))
                        errors.Add(ServiceFieldError.Invalid($"spec.ports[{i}].nodePort", p["nodePort"], "provided port is already allocated"));
                    continue;
                }
                if (NextNodePort(taken.NodePorts, nodePorts) is { } free)
                {
                    nodePorts.Add(free);
                    p["nodePort"] = free;
                }
                else
                    errors.Add(new ServiceFieldError("FieldValueInvalid", $"spec.ports[{i}].nodePort",
                        $"Internal error: failed to allocate a nodePort: range is full ({_settings.NodePortRange})"));
            }
        }
        if (errors.Count > 0) return new ServiceAdmission(null, errors);
        if (!dryRun) _pending[key] = (new Held(ips, nodePorts), _clock() + _settings.PendingClaimTtl);
        return new ServiceAdmission(svc, []);
    }

    /// <summary>kube-apiserver defaulting for services (type, affinity, protocols, targetPort, traffic policies).</summary>
    public static void Default(JsonObject spec)
    {
        spec["type"] ??= "ClusterIP";
        var type = ServiceValidation.Str(spec["type"]);
        if (type == "ExternalName") return;
        spec["sessionAffinity"] ??= "None";
        if (ServiceValidation.Str(spec["sessionAffinity"]) == "ClientIP")
        {
            var config = spec["sessionAffinityConfig"] as JsonObject ?? new JsonObject();
            spec["sessionAffinityConfig"] = config;
            var clientIp = config["clientIP"] as JsonObject ?? new JsonObject();
            config["clientIP"] = clientIp;
            clientIp["timeoutSeconds"] ??= 10800;
        }
        spec["internalTrafficPolicy"] ??= "Cluster";
        if (type is "NodePort" or "LoadBalancer") spec["externalTrafficPolicy"] ??= "Cluster";
        if (type == "LoadBalancer") spec["allocateLoadBalancerNodePorts"] ??= true;
        if (spec["ports"] is JsonArray ports)
            foreach (var p in ports.OfType<JsonObject>())
            {
                p["protocol"] ??= "TCP";
                if (p["targetPort"] is null && p["port"] is not null) p["targetPort"] = p["port"]!.DeepClone();
            }
    }

    /// <summary>An update that leaves out allocated values keeps them (kubectl replace/apply without clusterIP or nodePort).</summary>
    private static void CarryAllocated(JsonObject spec, JsonObject? oldSpec)
    {
        if (oldSpec is null) return;
        var type = ServiceValidation.Str(spec["type"]) ?? "ClusterIP";
        var oldType = ServiceValidation.Str(oldSpec["type"]) ?? "ClusterIP";
        if (type != "ExternalName" && oldType != "ExternalName" && string.IsNullOrEmpty(ServiceValidation.Str(spec["clusterIP"])))
        {
            if (oldSpec["clusterIP"] is { } ip) spec["clusterIP"] = ip.DeepClone();
            if (oldSpec["clusterIPs"] is { } ips) spec["clusterIPs"] = ips.DeepClone();
        }
        if (spec["ports"] is not JsonArray ports || oldSpec["ports"] is not JsonArray oldPorts) return;
        foreach (var p in ports.OfType<JsonObject>())
        {
            var match = oldPorts.OfType<JsonObject>().FirstOrDefault(o =>
                ServiceValidation.TryInt(o["port"], out var op) && ServiceValidation.TryInt(p["port"], out var np) && op == np
                && (ServiceValidation.Str(o["protocol"]) ?? "TCP") == (ServiceValidation.Str(p["protocol"]) ?? "TCP"));
            if (match is null) continue;
            if (type is "NodePort" or "LoadBalancer" && p["nodePort"] is null && match["nodePort"] is { } np2)
                p["nodePort"] = np2.DeepClone();
            // NodePort → ClusterIP: the kept nodePort goes away with the type (Kubernetes drops type-dependent fields).
            if (type == "ClusterIP" && oldType is "NodePort" or "LoadBalancer" && p["nodePort"] is { } same
                && JsonNode.DeepEquals(same, match["nodePort"]))
                p.Remove("nodePort");
        }
    }

    private IEnumerable<Held> Live()
    {
        var now = _clock();
        foreach (var (key, (_, expires)) in _pending.ToList())
            if (expires <= now) _pending.Remove(key);
        return _stored.Values.Concat(_pending.Values.Select(p => p.Held));
    }

    private Held Taken(string except)
    {
        var now = _clock();
        var ips = new HashSet<uint>();
        var ports = new HashSet<int>();
        foreach (var (key, held) in _stored)
            if (key != except) { ips.UnionWith(held.Ips); ports.UnionWith(held.NodePorts); }
        foreach (var (key, (held, expires)) in _pending.ToList())
        {
            if (expires <= now) { _pending.Remove(key); continue; }
            if (key != except) { ips.UnionWith(held.Ips); ports.UnionWith(held.NodePorts); }
        }
        return new Held(ips, ports);
    }

    private uint? NextIp(IReadOnlySet<uint> taken)
    {
        // first host address: the `kubernetes` service only
        var first = _settings.FirstIp + 1;
        var size = _settings.LastIp - first + 1;
        var start = (uint)_random.NextInt64(size);
        for (uint i = 0; i < size; i++)
        {
            var candidate = first + (start + i) % size;
            if (!taken.Contains(candidate)) return candidate;
        }
        return null;
    }

    private int? NextNodePort(IReadOnlySet<int> taken, IReadOnlySet<int> mine)
    {
        var size = _settings.NodePortMax - _settings.NodePortMin + 1;
        var start = _random.Next(size);
        for (var i = 0; i < size; i++)
        {
            var candidate = _settings.NodePortMin + (start + i) % size;
            if (!taken.Contains(candidate) && !mine.Contains(candidate)) return candidate;
        }
        return null;
    }

    private Held HeldBy(JsonObject svc)
    {
        var spec = svc["spec"] as JsonObject;
        if (spec is null) return Held.None;
        var ips = new HashSet<uint>();
        var all = spec["clusterIPs"] is JsonArray list ? list.Select(ServiceValidation.Str) : [ServiceValidation.Str(spec["clusterIP"])];
        foreach (var text in all)
            if (text is not null && IPAddress.TryParse(text, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
                ips.Add(ServiceIpMath.ToUInt(ip));
        var ports = new HashSet<int>();
        if (spec["ports"] is JsonArray portList)
            foreach (var p in portList.OfType<JsonObject>())
                if (ServiceValidation.TryInt(p["nodePort"], out var np) && np != 0) ports.Add(np);
        return new Held(ips, ports);
    }
}
