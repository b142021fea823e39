namespace AkkaKube.Actors.Client;

/// <summary>A REST resource: group ("" for core), version and plural resource name.</summary>
public sealed record ApiResource(string Group, string Version, string Resource, string Kind, bool Namespaced)
{
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>The store partition of this kind ("pods", "deployments.apps").</summary>
    public string Partition => Group.Length == 0 ? Resource : $"{Resource}.{Group}";

    public static readonly ApiResource Namespaces = new("", "v1", "namespaces", "Namespace", false);
    public static readonly ApiResource Nodes = new("", "v1", "nodes", "Node", false);
    public static readonly ApiResource Pods = new("", "v1", "pods", "Pod", true);
    public static readonly ApiResource Services = new("", "v1", "services", "Service", true);
    public static readonly ApiResource Endpoints = new("", "v1", "endpoints", "Endpoints", true);
    public static readonly ApiResource ConfigMaps = new("", "v1", "configmaps", "ConfigMap", true);
    public static readonly ApiResource Secrets = new("", "v1", "secrets", "Secret", true);
    public static readonly ApiResource Events = new("", "v1", "events", "Event", true);
    public static readonly ApiResource Leases = new("coordination.k8s.io", "v1", "leases", "Lease", true);
    public static readonly ApiResource Deployments = new("apps", "v1", "deployments", "Deployment", true);
    public static readonly ApiResource ReplicaSets = new("apps", "v1", "replicasets", "ReplicaSet", true);
    public static readonly ApiResource EndpointSlices = new("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", true);
    public static readonly ApiResource PodDisruptionBudgets = new("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true);
}
