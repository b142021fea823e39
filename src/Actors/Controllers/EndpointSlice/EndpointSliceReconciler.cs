using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace AkkaKube.Actors.Controllers.EndpointSlice;

/// <summary>What the controller must write for one service: slices to create/update/delete and the legacy Endpoints.</summary>
public sealed record EndpointSlicePlan(
    IReadOnlyList<JsonObject> Create,
    IReadOnlyList<JsonObject> Update,
    IReadOnlyList<string> Delete,
    JsonObject? EndpointsCreate,
    JsonObject? EndpointsUpdate)
{
    public bool IsEmpty => Create.Count == 0 && Update.Count == 0 && Delete.Count == 0 && EndpointsCreate is null && EndpointsUpdate is null;
}

/// <summary>
/// The EndpointSlice and Endpoints controllers' decisions as pure functions (kube-controller-manager's
/// endpointslice and endpoints controllers): which pods back a service, their conditions
/// (ready/serving/terminating from pod readiness and deletion), targetRef, nodeName, zone, and the
/// target port resolved per pod (a named targetPort is looked up in the pod's container ports; pods
/// that resolve differently land in different slices). Slice names are deterministic so a stale cache
/// can never create a duplicate.
/// </summary>
public static class EndpointSliceReconciler
{
    public const string ServiceNameLabel = "kubernetes.io/service-name";
    public const string ManagedByLabel = "endpointslice.kubernetes.io/managed-by";
    public const string ManagedBy = "endpointslice-controller.k8s.io";
    public const int MaxEndpointsPerSlice = 100;

    public static bool Selects(V1Service svc) =>
        svc.Spec?.Selector is { Count: > 0 } && svc.Spec.Type != "ExternalName";

    public static bool Matches(IDictionary<string, string>? selector, IDictionary<string, string>? labels) =>
        selector is { Count: > 0 } && selector.All(s => labels is not null && labels.TryGetValue(s.Key, out var v) && v == s.Value);

    private sealed record PodEndpoint(V1Pod Pod, string Ip, bool Ready, bool Serving, bool Terminating, IReadOnlyList<Corev1EndpointPort> Ports);

    /// <summary>The slices the service should have (content only; metadata.name, labels, ownerReferences set).</summary>
    public static IReadOnlyList<JsonObject> DesiredSlices(V1Service svc, IEnumerable<V1Pod> pods, IReadOnlyDictionary<string, string> nodeZones)
    {
        var endpoints = Endpoints(svc, pods);
        var groups = endpoints
            .GroupBy(e => PortsKey(e.Ports))
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToList();
        var slices = new List<JsonObject>();
        foreach (var group in groups)
        {
            var ordered = group.OrderBy(e => e.Pod.Metadata.Name, StringComparer.Ordinal).ToList();
            for (var chunk = 0; chunk * MaxEndpointsPerSlice < ordered.Count; chunk++)
            {
                var part = ordered.Skip(chunk * MaxEndpointsPerSlice).Take(MaxEndpointsPerSlice).ToList();
                slices.Add(Slice(svc, $"{group.Key}#{chunk}", part.Select(e => EndpointJson(svc, e, nodeZones)), part[0].Ports));
            }
        }
        if (slices.Count == 0)
            slices.Add(Slice(svc, "empty", [], [])); // Kubernetes keeps one (empty) slice per selected service
        return slices;
    }

    /// <summary>The legacy Endpoints object: ready addresses and notReadyAddresses per port set (terminating pods left out).</summary>
    public static JsonObject DesiredEndpoints(V1Service svc, IEnumerable<V1Pod> pods)
    {
        var publishNotReady = svc.Spec?.PublishNotReadyAddresses == true;
        var subsets = new JsonArray();
        foreach (var group in Endpoints(svc, pods).Where(e => !e.Terminating || publishNotReady)
                     .GroupBy(e => PortsKey(e.Ports)).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var ready = new JsonArray();
            var notReady = new JsonArray();
            foreach (var e in group.OrderBy(e => e.Ip, StringComparer.Ordinal))
            {
                var address = new JsonObject
                {
                    ["ip"] = e.Ip,
                    ["nodeName"] = e.Pod.Spec?.NodeName,
                    ["targetRef"] = TargetRef(e.Pod),
                };
                (e.Ready ? ready : notReady).Add(address);
            }
            var subset = new JsonObject();
            if (ready.Count > 0) subset["addresses"] = ready;
            if (notReady.Count > 0) subset["notReadyAddresses"] = notReady;
            subset["ports"] = new JsonArray(group.First().Ports.Select(p => (JsonNode)new JsonObject
            {
                ["name"] = p.Name,
                ["port"] = p.Port,
                ["protocol"] = p.Protocol,
            }).ToArray());
            subsets.Add(subset);
        }
        var labels = new JsonObject();
        foreach (var (k, v) in svc.Metadata.Labels ?? new Dictionary<string, string>()) labels[k] = v;
        labels[ServiceNameLabel] = svc.Metadata.Name;
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Endpoints",
            ["metadata"] = new JsonObject
            {
                ["name"] = svc.Metadata.Name,
                ["namespace"] = svc.Metadata.NamespaceProperty,
                ["labels"] = labels,
            },
            ["subsets"] = subsets,
        };
    }

    /// <summary>Compares the desired state with the stored slices (those this controller manages for the service) and Endpoints.</summary>
    public static EndpointSlicePlan Plan(
        V1Service svc, IEnumerable<V1Pod> pods, IReadOnlyDictionary<string, string> nodeZones,
        IEnumerable<JsonObject> existingSlices, JsonObject? existingEndpoints)
    {
        var desired = DesiredSlices(svc, pods, nodeZones);
        var existing = existingSlices.ToDictionary(s => Name(s), StringComparer.Ordinal);
        var create = new List<JsonObject>();
        var update = new List<JsonObject>();
        foreach (var slice in desired)
        {
            if (!existing.TryGetValue(Name(slice), out var current)) create.Add(slice);
            else if (!SameSlice(slice, current))
            {
                slice["metadata"]!["resourceVersion"] = current["metadata"]?["resourceVersion"]?.DeepClone();
                update.Add(slice);
            }
        }
        var desiredNames = desired.Select(Name).ToHashSet(StringComparer.Ordinal);
        var delete = existing.Keys.Where(n => !desiredNames.Contains(n)).OrderBy(n => n, StringComparer.Ordinal).ToList();

        var endpoints = DesiredEndpoints(svc, pods);
        JsonObject? epCreate = null, epUpdate = null;
        if (existingEndpoints is null) epCreate = endpoints;
        else if (!JsonNode.DeepEquals(Normalize(endpoints["subsets"]), Normalize(existingEndpoints["subsets"]))
                 || !JsonNode.DeepEquals(endpoints["metadata"]!["labels"], existingEndpoints["metadata"]?["labels"]))
        {
            endpoints["metadata"]!["resourceVersion"] = existingEndpoints["metadata"]?["resourceVersion"]?.DeepClone();
            epUpdate = endpoints;
        }
        return new EndpointSlicePlan(create, update, delete, epCreate, epUpdate);
    }

    private static JsonNode? Normalize(JsonNode? subsets) => subsets is JsonArray { Count: 0 } ? null : subsets;

    public static string Name(JsonObject obj) => obj["metadata"]?["name"]?.GetValue<string>() ?? "";

    private static bool SameSlice(JsonObject desired, JsonObject current) =>
        JsonNode.DeepEquals(desired["endpoints"], Normalize(current["endpoints"]) ?? new JsonArray())
        && JsonNode.DeepEquals(desired["ports"], Normalize(current["ports"]) ?? new JsonArray())
        && JsonNode.DeepEquals(desired["metadata"]!["labels"], current["metadata"]?["labels"])
        && desired["addressType"]?.GetValue<string>() == current["addressType"]?.GetValue<string>();

    private static List<PodEndpoint> Endpoints(V1Service svc, IEnumerable<V1Pod> pods)
    {
        var result = new List<PodEndpoint>();
        if (!Selects(svc)) return result;
        var publishNotReady = svc.Spec.PublishNotReadyAddresses == true;
        foreach (var pod in pods)
        {
            if (pod.Metadata?.NamespaceProperty != svc.Metadata.NamespaceProperty) continue;
            if (!Matches(svc.Spec.Selector, pod.Metadata.Labels)) continue;
            if (pod.Status?.Phase is "Succeeded" or "Failed") continue;
            var ip = pod.Status?.PodIP;
            if (string.IsNullOrEmpty(ip) || !IPAddress.TryParse(ip, out var parsed) || parsed.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
                continue;
            var podReady = pod.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;
            var terminating = pod.Metadata.DeletionTimestamp is not null;
            var ready = publishNotReady || (podReady && !terminating);
            result.Add(new PodEndpoint(pod, ip, ready, publishNotReady || podReady, terminating, ResolvePorts(svc, pod)));
        }
        return result;
    }

    /// <summary>Each service port with its target port resolved for this pod; a named port the pod does not declare is left out.</summary>
    public static IReadOnlyList<Corev1EndpointPort> ResolvePorts(V1Service svc, V1Pod pod)
    {
        var ports = new List<Corev1EndpointPort>();
        foreach (var sp in svc.Spec?.Ports ?? [])
        {
            var protocol = sp.Protocol ?? "TCP";
            int? number = null;
            var target = sp.TargetPort?.Value;
            if (string.IsNullOrEmpty(target)) number = sp.Port;
            else if (int.TryParse(target, out var n)) number = n;
            else
                number = pod.Spec?.Containers?
                    .SelectMany(c => c.Ports ?? [])
                    .FirstOrDefault(p => p.Name == target && (p.Protocol ?? "TCP") == protocol)?.ContainerPort;
            if (number is null) continue;
            ports.Add(new Corev1EndpointPort { Name = sp.Name ?? "", Port = number.Value, Protocol = protocol, AppProtocol = sp.AppProtocol });
        }
        return ports;
    }

    private static string PortsKey(IReadOnlyList<Corev1EndpointPort> ports) =>
        string.Join(",", ports.Select(p => $"{p.Name}={p.Port}/{p.Protocol}"));

    private static JsonObject EndpointJson(V1Service svc, PodEndpoint e, IReadOnlyDictionary<string, string> nodeZones)
    {
        var ep = new JsonObject
        {
            ["addresses"] = new JsonArray(e.Ip),
            ["conditions"] = new JsonObject { ["ready"] = e.Ready, ["serving"] = e.Serving, ["terminating"] = e.Terminating },
            ["targetRef"] = TargetRef(e.Pod),
        };
        // As Kubernetes: a pod's hostname names its endpoint only in the Service its subdomain names (cluster DNS
        // then answers <hostname>.<service>.<ns>.svc — StatefulSet pods, docs/dns.md).
        if (e.Pod.Spec?.Hostname is { Length: > 0 } hostname && e.Pod.Spec.Subdomain == svc.Metadata.Name
            && e.Pod.Metadata.NamespaceProperty == svc.Metadata.NamespaceProperty)
            ep["hostname"] = hostname;
        if (!string.IsNullOrEmpty(e.Pod.Spec?.NodeName))
        {
            ep["nodeName"] = e.Pod.Spec.NodeName;
            if (nodeZones.TryGetValue(e.Pod.Spec.NodeName, out var zone)) ep["zone"] = zone;
        }
        return ep;
    }

    private static JsonObject TargetRef(V1Pod pod) => new()
    {
        ["kind"] = "Pod",
        ["namespace"] = pod.Metadata.NamespaceProperty,
        ["name"] = pod.Metadata.Name,
        ["uid"] = pod.Metadata.Uid,
    };

    private static JsonObject Slice(V1Service svc, string groupKey, IEnumerable<JsonObject> endpoints, IReadOnlyList<Corev1EndpointPort> ports)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(groupKey)))[..5];
        var owner = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Service",
            ["name"] = svc.Metadata.Name,
            ["uid"] = svc.Metadata.Uid,
            ["controller"] = true,
            ["blockOwnerDeletion"] = true,
        };
        return new JsonObject
        {
            ["apiVersion"] = "discovery.k8s.io/v1",
            ["kind"] = "EndpointSlice",
            ["metadata"] = new JsonObject
            {
                ["name"] = $"{svc.Metadata.Name}-{hash}",
                ["namespace"] = svc.Metadata.NamespaceProperty,
                ["labels"] = new JsonObject
                {
                    [ManagedByLabel] = ManagedBy,
                    [ServiceNameLabel] = svc.Metadata.Name,
                },
                ["ownerReferences"] = new JsonArray(owner),
            },
            ["addressType"] = "IPv4",
            ["endpoints"] = new JsonArray(endpoints.Cast<JsonNode>().ToArray()),
            ["ports"] = new JsonArray(ports.Select(p =>
            {
                var port = new JsonObject { ["name"] = p.Name, ["port"] = p.Port, ["protocol"] = p.Protocol };
                if (p.AppProtocol is not null) port["appProtocol"] = p.AppProtocol;
                return (JsonNode)port;
            }).ToArray()),
        };
    }

    public static V1Service ToService(JsonObject obj) => KubernetesJson.Deserialize<V1Service>(obj.ToJsonString());

    public static V1Pod ToPod(JsonObject obj) => KubernetesJson.Deserialize<V1Pod>(obj.ToJsonString());
}
