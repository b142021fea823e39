using System.Globalization;
using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Kubelet;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.ApiServer;

/// <summary>
/// The resource metrics API (metrics.k8s.io/v1beta1, what metrics-server serves and `kubectl top` reads), served by
/// every apiserver without an aggregation layer: NodeMetrics at /apis/metrics.k8s.io/v1beta1/nodes[/name] and
/// PodMetrics at /apis/metrics.k8s.io/v1beta1/[namespaces/{ns}/]pods[/name]. The figures come from the kubelets:
/// the endpoint lists the Nodes (or Pods) through the in-cluster API with the request's selectors, then asks each
/// involved node's kubelet over Akka remoting with <see cref="KubeletProtocol.GetMetrics"/> (address and path from
/// the Node's akkakube.io annotations, as for logs). A node or pod without a sample is left out of lists and is 404
/// on a get, as with metrics-server.
/// </summary>
public static class MetricsEndpoint
{
    public const string Group = "metrics.k8s.io";
    public const string Version = "v1beta1";
    public const string GroupVersion = Group + "/" + Version;

    private sealed record Resource(string Name, string Singular, string Kind, bool Namespaced);

    private static readonly Resource NodesResource = new("nodes", "", "NodeMetrics", false);
    private static readonly Resource PodsResource = new("pods", "", "PodMetrics", true);

    // ---------------- discovery ----------------

    /// <summary>The group's entry of aggregated discovery (/apis).</summary>
    public static JsonObject AggregatedGroup() => new()
    {
        ["metadata"] = new JsonObject { ["name"] = Group, ["creationTimestamp"] = null },
        ["versions"] = new JsonArray(new JsonObject
        {
            ["version"] = Version,
            ["freshness"] = "Current",
            ["resources"] = new JsonArray([.. new[] { NodesResource, PodsResource }.Select(r => (JsonNode)new JsonObject
                {
                    ["resource"] = r.Name,
                    ["responseKind"] = new JsonObject { ["group"] = Group, ["version"] = Version, ["kind"] = r.Kind },
                    ["scope"] = r.Namespaced ? "Namespaced" : "Cluster",
                    ["singularResource"] = r.Singular,
                ["verbs"] = new JsonArray("get", "list"),
            })]),
        }),
    };

    /// <summary>The group's entry of legacy discovery (/apis) and the document at /apis/metrics.k8s.io.</summary>
    public static JsonObject LegacyGroup()
    {
        var gv = new JsonObject { ["groupVersion"] = GroupVersion, ["version"] = Version };
        return new JsonObject { ["kind"] = "APIGroup", ["apiVersion"] = "v1", ["name"] = Group, ["versions"] = new JsonArray(gv.DeepClone()), ["preferredVersion"] = gv };
    }

    public static JsonObject ResourceList() => new()
    {
        ["kind"] = "APIResourceList",
        ["apiVersion"] = "v1",
        ["groupVersion"] = GroupVersion,
        ["resources"] = new JsonArray([.. new[] { NodesResource, PodsResource }.Select(r => (JsonNode)new JsonObject
        {
            ["name"] = r.Name,
            ["singularName"] = r.Singular,
            ["namespaced"] = r.Namespaced,
            ["kind"] = r.Kind,
            ["verbs"] = new JsonArray("get", "list"),
        })]),
    };

    // ---------------- requests ----------------

    /// <summary>
    /// Serves a path below /apis/metrics.k8s.io (segments include "apis" and the group). Returns the JSON body of a
    /// 200 answer; anything else throws <see cref="ApiException"/>.
    /// </summary>
    public static async Task<JsonObject> HandleAsync(ActorSystem system, string method, string[] segs, IReadOnlyDictionary<string, string> query, CancellationToken ct)
    {
        if (method is not ("GET" or "HEAD"))
            throw ApiException.MethodNotAllowed($"the metrics API is read-only; {method} is not allowed");
        if (segs.Length == 2) return LegacyGroup();
        if (segs[2] != Version) throw ApiException.NotFound("the server could not find the requested resource");
        if (segs.Length == 3) return ResourceList();
        if (query.TryGetValue("watch", out var w) && w is "true" or "1")
            throw ApiException.MethodNotAllowed("the metrics API does not support watch");
        var r = segs[3..];
        string? ns = null;
        if (r[0] == "namespaces" && r.Length >= 3)
        {
            ns = r[1];
            r = r[2..];
        }
        if (r.Length > 2) throw ApiException.NotFound("the server could not find the requested resource");
        var name = r.Length == 2 ? r[1] : null;
        var api = KubeApi.Get(system).Api;
        var labelSelector = query.GetValueOrDefault("labelSelector") is { Length: > 0 } l ? l : null;
        var fieldSelector = query.GetValueOrDefault("fieldSelector") is { Length: > 0 } f ? f : null;
        return r[0] switch
        {
            "nodes" when ns is null => await NodesAsync(system, api, name, labelSelector, fieldSelector, ct),
            "pods" => await PodsAsync(system, api, ns, name, labelSelector, fieldSelector, ct),
            _ => throw ApiException.NotFound("the server could not find the requested resource"),
        };
    }

    private static async Task<JsonObject> NodesAsync(ActorSystem system, IKubeApi api, string? name, string? labelSelector, string? fieldSelector, CancellationToken ct)
    {
        List<JsonObject> nodes;
        if (name is not null)
        {
            try { nodes = [await api.GetAsync(ApiResource.Nodes, null, name, ct: ct)]; }
            catch (KubeApiException e) when (e.IsNotFound) { throw MetricsNotFound("nodemetrics", name); }
        }
        else nodes = [.. (await List(api, ApiResource.Nodes, null, labelSelector, fieldSelector, ct)).Items];
        var metrics = await KubeletUsage.AskAsync(system, nodes, ct);
        var items = new JsonArray();
        foreach (var node in nodes.OrderBy(n => Str(n, "metadata", "name"), StringComparer.Ordinal))
        {
            if (!metrics.TryGetValue(Str(node, "metadata", "name"), out var m)) continue;
            items.Add(new JsonObject
            {
                ["metadata"] = Meta(node, null),
                ["timestamp"] = Timestamp(m.Timestamp),
                ["window"] = Window(m.WindowSeconds),
                ["usage"] = Usage(m.CpuNanoCores, m.MemoryBytes),
            });
        }
        if (name is not null)
        {
            if (items.Count == 0) throw MetricsNotFound("nodemetrics", name);
            var one = (JsonObject)items[0]!.DeepClone();
            return Typed(one, "NodeMetrics");
        }
        return List("NodeMetricsList", items, "NodeMetrics");
    }

    private static async Task<JsonObject> PodsAsync(ActorSystem system, IKubeApi api, string? ns, string? name, string? labelSelector, string? fieldSelector, CancellationToken ct)
    {
        List<JsonObject> pods;
        if (name is not null)
        {
            if (ns is null) throw ApiException.NotFound("the server could not find the requested resource");
            try { pods = [await api.GetAsync(ApiResource.Pods, ns, name, ct: ct)]; }
            catch (KubeApiException e) when (e.IsNotFound) { throw MetricsNotFound("podmetrics", name); }
        }
        else pods = [.. (await List(api, ApiResource.Pods, ns, labelSelector, fieldSelector, ct)).Items];
        var nodeNames = pods.Select(p => Str(p, "spec", "nodeName")).Where(n => n.Length > 0).ToHashSet(StringComparer.Ordinal);
        var nodes = new List<JsonObject>();
        foreach (var n in nodeNames)
        {
            try { nodes.Add(await api.GetAsync(ApiResource.Nodes, null, n, ct: ct)); }
            catch (KubeApiException e) when (e.IsNotFound) { }
        }
        var metrics = await KubeletUsage.AskAsync(system, nodes, ct);
        var byUid = metrics.Values.SelectMany(m => m.Pods).GroupBy(p => p.Uid).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var items = new JsonArray();
        foreach (var pod in pods.OrderBy(p => Str(p, "metadata", "namespace"), StringComparer.Ordinal).ThenBy(p => Str(p, "metadata", "name"), StringComparer.Ordinal))
        {
            if (!byUid.TryGetValue(Str(pod, "metadata", "uid"), out var m)) continue;
            items.Add(new JsonObject
            {
                ["metadata"] = Meta(pod, Str(pod, "metadata", "namespace")),
                ["timestamp"] = Timestamp(m.Timestamp),
                ["window"] = Window(m.WindowSeconds),
                ["containers"] = new JsonArray([.. m.Containers.Select(c => (JsonNode)new JsonObject
                {
                    ["name"] = c.Name,
                    ["usage"] = Usage(c.CpuNanoCores, c.MemoryBytes),
                })]),
            });
        }
        if (name is not null)
        {
            if (items.Count == 0) throw MetricsNotFound("podmetrics", name);
            return Typed((JsonObject)items[0]!.DeepClone(), "PodMetrics");
        }
        return List("PodMetricsList", items, "PodMetrics");
    }

    private static async Task<ObjectList> List(IKubeApi api, ApiResource resource, string? ns, string? labelSelector, string? fieldSelector, CancellationToken ct)
    {
        try
        {
            return await api.ListAsync(resource, ns, new ListOptions(labelSelector, fieldSelector), ct);
        }
        catch (KubeApiException e)
        {
            throw new ApiException(e.Code, e.Reason, e.Message);
        }
    }

    // ---------------- shapes ----------------

    private static JsonObject List(string kind, JsonArray items, string itemKind)
    {
        foreach (var i in items.OfType<JsonObject>()) Typed(i, itemKind, prepend: false);
        return new JsonObject { ["kind"] = kind, ["apiVersion"] = GroupVersion, ["metadata"] = new JsonObject(), ["items"] = items };
    }

    private static JsonObject Typed(JsonObject item, string kind, bool prepend = true)
    {
        if (!prepend)
        {
            item["kind"] = kind;
            item["apiVersion"] = GroupVersion;
            return item;
        }
        var typed = new JsonObject { ["kind"] = kind, ["apiVersion"] = GroupVersion };
        foreach (var (k, v) in item.ToList())
        {
            item.Remove(k);
            typed[k] = v;
        }
        return typed;
    }

    private static JsonObject Meta(JsonObject obj, string? ns)
    {
        var meta = new JsonObject { ["name"] = Str(obj, "metadata", "name") };
        if (ns is not null) meta["namespace"] = ns;
        meta["creationTimestamp"] = Timestamp(DateTimeOffset.UtcNow);
        if (obj["metadata"]?["labels"] is JsonObject labels) meta["labels"] = labels.DeepClone();
        return meta;
    }

    /// <summary>Usage as Kubernetes quantities: cpu in nanocores ("12345n"), memory in KiB ("2048Ki") or bytes.</summary>
    public static JsonObject Usage(long cpuNanoCores, long memoryBytes) => new()
    {
        ["cpu"] = $"{Math.Max(0, cpuNanoCores).ToString(CultureInfo.InvariantCulture)}n",
        ["memory"] = memoryBytes % 1024 == 0
            ? $"{(Math.Max(0, memoryBytes) / 1024).ToString(CultureInfo.InvariantCulture)}Ki"
            : Math.Max(0, memoryBytes).ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>A Go duration string ("5s", "500ms", "1.5s") as metav1.Duration expects.</summary>
    public static string Window(double seconds)
    {
        var ms = (long)Math.Round(seconds * 1000);
        if (ms <= 0) return "0s";
        if (ms % 1000 == 0) return $"{(ms / 1000).ToString(CultureInfo.InvariantCulture)}s";
        if (ms < 1000) return $"{ms.ToString(CultureInfo.InvariantCulture)}ms";
        return $"{(ms / 1000.0).ToString("0.###", CultureInfo.InvariantCulture)}s";
    }

    private static string Timestamp(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private static ApiException MetricsNotFound(string resource, string name) =>
        new(404, "NotFound", $"{resource}.{Group} \"{name}\" not found",
            new JsonObject { ["name"] = name, ["group"] = Group, ["kind"] = resource == "nodemetrics" ? "nodes" : "pods" });

    private static string Str(JsonNode? node, params string[] path)
    {
        foreach (var p in path) node = node is JsonObject o ? o[p] : null;
        return node is JsonValue v && v.TryGetValue<string>(out var s) ? s : "";
    }
}
