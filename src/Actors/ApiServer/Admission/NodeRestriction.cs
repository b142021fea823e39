using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.Security;
using AkkaKube.Actors.Security.Node;

namespace AkkaKube.Actors.ApiServer.Admission;

/// <summary>
/// Kubernetes' NodeRestriction admission plugin: what the Node authorizer lets every kubelet do (system:node's rules)
/// narrowed to the kubelet's own objects — its Node (create, update, patch, delete), its Lease, the status of pods bound
/// to it, deleting and evicting those pods, mirror pods for itself only, tokens only for its pods; on its Node it may
/// not change taints after creation nor set labels outside the kubelet's own (see <see cref="ForbiddenLabels"/>). Runs for users
/// system:node:NAME on every write (create, update, patch, apply, delete and the eviction/token subresources);
/// refusals are 403 Forbidden with Kubernetes' words: <c>nodes "b" is forbidden: node "a" is not allowed to modify node "b"</c>.
/// </summary>
public static class NodeRestriction
{
    public const string MirrorPodAnnotation = "kubernetes.io/config.mirror";

    private static ApiException Forbidden(ApiResource r, string name, string why) =>
        new(403, "Forbidden", $"{r.QualifiedName} \"{name}\" is forbidden: {why}", ApiException.DetailsFor(r, name));

    private static bool Is(ApiResource r, ApiResource kind) => r.Group == kind.Group && r.Resource == kind.Resource;

    private static string NodeOf(JsonObject pod) => Meta.Str(pod["spec"]?["nodeName"]);

    /// <summary>A create by <paramref name="user"/> of <paramref name="obj"/> (defaulted, before it is stored).</summary>
    public static void AdmitCreate(UserInfo? user, ApiResource r, JsonObject obj)
    {
        if (user is null || NodeAuthorizer.NodeNameOf(user) is not { } node) return;
        var name = Meta.Field(obj, "name") ?? "";
        if (Is(r, ApiResource.Nodes) && name != node)
            throw Forbidden(r, name, $"node \"{node}\" is not allowed to modify node \"{name}\"");
        if (Is(r, ApiResource.Nodes) && ForbiddenLabels(LabelsOf(obj).Keys) is { Count: > 0 } set)
            throw Forbidden(r, name, $"node \"{node}\" is not allowed to set the following labels: {string.Join(", ", set)}");
        if (Is(r, ApiResource.Leases) && name != node)
            throw Forbidden(r, name, "can only access node lease with the same name as the requesting node");
        if (!Is(r, ApiResource.Pods)) return;
        if (Meta.Str(obj["metadata"]?["annotations"]?[MirrorPodAnnotation]) is not { Length: > 0 })
            throw Forbidden(r, name, $"pod does not have \"{MirrorPodAnnotation}\" annotation, node \"{node}\" can only create mirror pods");
        if (NodeOf(obj) != node)
            throw Forbidden(r, name, $"node \"{node}\" can only create pods with spec.nodeName set to itself");
        var spec = obj["spec"] as JsonObject ?? [];
        if (Meta.Str(spec["serviceAccountName"]) is { Length: > 0 })
            throw Forbidden(r, name, $"node \"{node}\" can not create pods that use service accounts");
        var volumes = (spec["volumes"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        if (volumes.Any(v => v["secret"] is not null) || Containers(spec).Any(c => References(c, "secretRef", "secretKeyRef")))
            throw Forbidden(r, name, $"node \"{node}\" can not create pods that reference secrets");
        if (volumes.Any(v => v["configMap"] is not null) || Containers(spec).Any(c => References(c, "configMapRef", "configMapKeyRef")))
            throw Forbidden(r, name, $"node \"{node}\" can not create pods that reference configmaps");
        if (volumes.Any(v => v["persistentVolumeClaim"] is not null || v["ephemeral"] is not null))
            throw Forbidden(r, name, $"node \"{node}\" can not create pods that reference persistentvolumeclaims");
    }

    /// <summary>An update or patch (<paramref name="subresource"/> null or "status") of <paramref name="old"/> into <paramref name="next"/>.</summary>
    public static void AdmitUpdate(UserInfo? user, ApiResource r, string? subresource, JsonObject old, JsonObject next)
    {
        if (user is null || NodeAuthorizer.NodeNameOf(user) is not { } node) return;
        var name = Meta.Field(old, "name") ?? "";
        if (Is(r, ApiResource.Nodes) && name != node)
            throw Forbidden(r, name, $"node \"{node}\" is not allowed to modify node \"{name}\"");
        if (Is(r, ApiResource.Nodes) && subresource is null or "")
        {
            if (!JsonNode.DeepEquals(old["spec"]?["taints"], next["spec"]?["taints"]))
                throw Forbidden(r, name, $"node \"{node}\" is not allowed to modify taints");
            var (before, after) = (LabelsOf(old), LabelsOf(next));
            var modified = before.Keys.Union(after.Keys).Where(k => before.GetValueOrDefault(k) != after.GetValueOrDefault(k));
            if (ForbiddenLabels(modified) is { Count: > 0 } set)
                throw Forbidden(r, name, $"node \"{node}\" is not allowed to modify labels: {string.Join(", ", set)}");
        }
        if (Is(r, ApiResource.Pods))
        {
            if (subresource != "status")
                throw Forbidden(r, name, $"unexpected operation update, node \"{node}\" can only update pod status");
            if (NodeOf(old) != node)
                throw Forbidden(r, name, $"node \"{node}\" can only update pod status for pods with spec.nodeName set to itself");
        }
    }

    /// <summary>A delete of <paramref name="old"/>.</summary>
    public static void AdmitDelete(UserInfo? user, ApiResource r, JsonObject old)
    {
        if (user is null || NodeAuthorizer.NodeNameOf(user) is not { } node) return;
        var name = Meta.Field(old, "name") ?? "";
        if (Is(r, ApiResource.Nodes) && name != node)
            throw Forbidden(r, name, $"node \"{node}\" is not allowed to modify node \"{name}\"");
        if (Is(r, ApiResource.Pods) && NodeOf(old) != node)
            throw Forbidden(r, name, $"node \"{node}\" can only delete pods with spec.nodeName set to itself");
    }

    /// <summary>pods/eviction and serviceaccounts/token: the pod evicted, or the pod the token is bound to, must be the node's.</summary>
    public static async Task AdmitSubresourceAsync(ApiPipeline.RequestScope c, string name)
    {
        if (c.Req.User is not { } user || NodeAuthorizer.NodeNameOf(user) is not { } node) return;
        if (Is(c.R, ApiResource.Pods) && c.Req.Subresource == "eviction")
        {
            if (NodeOf(await c.GetAsync(name)) != node)
                throw Forbidden(c.R, name, $"node \"{node}\" can only evict pods with spec.nodeName set to itself");
        }
        else if (Is(c.R, ApiResource.ServiceAccounts) && c.Req.Subresource == "token")
        {
            var bound = c.ParseObject("TokenRequest")["spec"]?["boundObjectRef"] as JsonObject;
            if (bound is null || Meta.Str(bound["kind"]) != "Pod")
                throw Forbidden(c.R, name, "node requested token not bound to a pod");
            var pod = await c.Pipeline.Get(ApiResource.Pods, c.Ns, Meta.Str(bound["name"]), c.Ct);
            if (NodeOf(pod) != node)
                throw Forbidden(c.R, name, "node requested token bound to a pod scheduled on a different node");
        }
    }

    /// <summary>
    /// Labels a kubelet may not set on its Node (Kubernetes' rule): any under node-restriction.kubernetes.io/ (reserved
    /// for administrators to pin workloads to nodes a compromised kubelet cannot claim), and any other in the kubernetes.io
    /// or k8s.io namespaces except the kubelet's own (hostname, zone, region, instance type, os, arch, and the
    /// kubelet.kubernetes.io/ and node.kubernetes.io/ namespaces). One deviation: node-role.kubernetes.io/ is allowed,
    /// because AkkaKube's kubelet labels its node's roles itself where kubeadm would do it with admin credentials.
    /// </summary>
    public static IReadOnlyList<string> ForbiddenLabels(IEnumerable<string> keys) =>
        keys.Where(IsForbiddenLabel).Order(StringComparer.Ordinal).ToList();

    private static readonly HashSet<string> KubeletLabels =
    [
        "kubernetes.io/hostname", "topology.kubernetes.io/zone", "topology.kubernetes.io/region",
        "failure-domain.beta.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/region",
        "beta.kubernetes.io/instance-type", "node.kubernetes.io/instance-type",
        "kubernetes.io/os", "kubernetes.io/arch", "beta.kubernetes.io/os", "beta.kubernetes.io/arch",
    ];

    private static bool IsForbiddenLabel(string key)
    {
        var slash = key.IndexOf('/');
        if (slash < 0) return false;
        var ns = key[..slash];
        static bool In(string ns, string domain) => ns == domain || ns.EndsWith("." + domain, StringComparison.Ordinal);
        if (In(ns, "node-restriction.kubernetes.io")) return true;
        if (!In(ns, "kubernetes.io") && !In(ns, "k8s.io")) return false;
        return !(KubeletLabels.Contains(key) || In(ns, "kubelet.kubernetes.io") || In(ns, "node.kubernetes.io") || ns == "node-role.kubernetes.io");
    }

    private static Dictionary<string, string> LabelsOf(JsonObject obj) =>
        (obj["metadata"]?["labels"] as JsonObject ?? []).ToDictionary(kv => kv.Key, kv => Meta.Str(kv.Value), StringComparer.Ordinal);

    private static IEnumerable<JsonObject> Containers(JsonObject spec) =>
        new[] { "initContainers", "containers", "ephemeralContainers" }.SelectMany(k => (spec[k] as JsonArray ?? []).OfType<JsonObject>());

    private static bool References(JsonObject container, string fromKey, string keyRef) =>
        (container["envFrom"] as JsonArray ?? []).OfType<JsonObject>().Any(f => f[fromKey] is not null) ||
        (container["env"] as JsonArray ?? []).OfType<JsonObject>().Any(e => e["valueFrom"]?[keyRef] is not null);
}
