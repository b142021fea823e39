namespace AkkaKube.Actors.Machinery;

/// <summary>A subresource of a resource: name ("status", "scale"…), its response kind and verbs.</summary>
public sealed record ApiSubresource(string Name, string Group, string Version, string Kind, IReadOnlyList<string> Verbs);

/// <summary>
/// A REST resource: group ("" for core), version and plural resource name, plus what discovery
/// publishes about it (singular, short names, categories, verbs, subresources). The static fields are
/// the well-known resources in-cluster clients use; which resources the apiserver serves, and how, is
/// its registry (ApiServer/Registry/ApiRegistry.cs).
/// </summary>
public sealed record ApiResource(string Group, string Version, string Resource, string Kind, bool Namespaced)
{
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>The store partition of this kind ("pods", "deployments.apps").</summary>
    public string Partition => Group.Length == 0 ? Resource : $"{Resource}.{Group}";

    /// <summary>"deployments.apps" / "pods": how Kubernetes names the resource in error messages.</summary>
    public string QualifiedName => Partition;

    public string Singular => Kind.ToLowerInvariant();
    public IReadOnlyList<string> ShortNames { get; init; } = [];
    public IReadOnlyList<string> Categories { get; init; } = [];
    public IReadOnlyList<string> Verbs { get; init; } = StandardVerbs;
    public IReadOnlyList<ApiSubresource> Subresources { get; init; } = [];

    /// <summary>True when the resource has a status subresource (main-resource writes keep the old status).</summary>
    public bool HasStatus => Subresources.Any(s => s.Name == "status");

    public ApiSubresource? FindSubresource(string name) => Subresources.FirstOrDefault(s => s.Name == name);

    public static readonly IReadOnlyList<string> StandardVerbs =
        ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

    public static readonly IReadOnlyList<string> StatusVerbs = ["get", "patch", "update"];

    /// <summary>The status subresource of a kind (verbs get, patch, update).</summary>
    public static ApiSubresource StatusOf(string group, string kind, string version = "v1") => new("status", group, version, kind, StatusVerbs);

    /// <summary>The scale subresource (autoscaling/v1 Scale).</summary>
    public static ApiSubresource ScaleSub() => new("scale", "autoscaling", "v1", "Scale", StatusVerbs);

    public static readonly ApiResource Namespaces = new("", "v1", "namespaces", "Namespace", false)
    {
        ShortNames = ["ns"],
        Verbs = ["create", "delete", "get", "list", "patch", "update", "watch"],
        Subresources = [StatusOf("", "Namespace")],
    };

    public static readonly ApiResource Nodes = new("", "v1", "nodes", "Node", false)
    {
        ShortNames = ["no"],
        Subresources = [StatusOf("", "Node")],
    };

    public static readonly ApiResource Pods = new("", "v1", "pods", "Pod", true)
    {
        ShortNames = ["po"],
        Categories = ["all"],
        Subresources =
        [
            StatusOf("", "Pod"),
            new("binding", "", "v1", "Binding", ["create"]),
            new("eviction", "policy", "v1", "Eviction", ["create"]),
            new("log", "", "v1", "Pod", ["get"]),
        ],
    };

    public static readonly ApiResource Services = new("", "v1", "services", "Service", true)
    {
        ShortNames = ["svc"],
        Categories = ["all"],
        Subresources = [StatusOf("", "Service")],
    };

    public static readonly ApiResource Endpoints = new("", "v1", "endpoints", "Endpoints", true) { ShortNames = ["ep"] };
    public static readonly ApiResource ConfigMaps = new("", "v1", "configmaps", "ConfigMap", true) { ShortNames = ["cm"] };
    public static readonly ApiResource Secrets = new("", "v1", "secrets", "Secret", true);
    public static readonly ApiResource Events = new("", "v1", "events", "Event", true) { ShortNames = ["ev"] };
    public static readonly ApiResource Leases = new("coordination.k8s.io", "v1", "leases", "Lease", true);

    public static readonly ApiResource Deployments = new("apps", "v1", "deployments", "Deployment", true)
    {
        ShortNames = ["deploy"],
        Categories = ["all"],
        Subresources = [ScaleSub(), StatusOf("apps", "Deployment")],
    };

    public static readonly ApiResource ReplicaSets = new("apps", "v1", "replicasets", "ReplicaSet", true)
    {
        ShortNames = ["rs"],
        Categories = ["all"],
        Subresources = [ScaleSub(), StatusOf("apps", "ReplicaSet")],
    };

    public static readonly ApiResource EndpointSlices = new("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", true);

    public static readonly ApiResource PodDisruptionBudgets = new("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true)
    {
        ShortNames = ["pdb"],
        Subresources = [StatusOf("policy", "PodDisruptionBudget")],
    };
}
