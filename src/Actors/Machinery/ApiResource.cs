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

    private readonly string? _partition;

    /// <summary>
    /// The store partition of this kind ("pods", "deployments.apps"). Every version of a kind shares it; a
    /// resource that is another group's view of the same objects names that partition (events.k8s.io events → "events").
    /// </summary>
    public string Partition { get => _partition ?? QualifiedName; init => _partition = value; }

    /// <summary>"deployments.apps" / "pods": how Kubernetes names the resource in error messages.</summary>
    public string QualifiedName => Group.Length == 0 ? Resource : $"{Resource}.{Group}";

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
            new("exec", "", "v1", "PodExecOptions", ["create", "get"]),
            new("portforward", "", "v1", "PodPortForwardOptions", ["create", "get"]),
            new("ephemeralcontainers", "", "v1", "Pod", ["get", "patch", "update"]),
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

    // ---- kinds served for manifests (issue 18): objects stored, validated and printed; controllers are separate ----

    public static readonly ApiResource ServiceAccounts = new("", "v1", "serviceaccounts", "ServiceAccount", true)
    {
        ShortNames = ["sa"], Subresources = [new ApiSubresource("token", "authentication.k8s.io", "v1", "TokenRequest", ["create"])],
    };
    public static readonly ApiResource ResourceQuotas = new("", "v1", "resourcequotas", "ResourceQuota", true) { ShortNames = ["quota"], Subresources = [StatusOf("", "ResourceQuota")] };
    public static readonly ApiResource LimitRanges = new("", "v1", "limitranges", "LimitRange", true) { ShortNames = ["limits"] };
    public static readonly ApiResource PersistentVolumeClaims = new("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true) { ShortNames = ["pvc"], Subresources = [StatusOf("", "PersistentVolumeClaim")] };
    public static readonly ApiResource PersistentVolumes = new("", "v1", "persistentvolumes", "PersistentVolume", false) { ShortNames = ["pv"], Subresources = [StatusOf("", "PersistentVolume")] };
    public static readonly ApiResource PodTemplates = new("", "v1", "podtemplates", "PodTemplate", true);
    public static readonly ApiResource ReplicationControllers = new("", "v1", "replicationcontrollers", "ReplicationController", true)
    {
        ShortNames = ["rc"], Categories = ["all"], Subresources = [new("scale", "autoscaling", "v1", "Scale", StatusVerbs), StatusOf("", "ReplicationController")],
    };
    public static readonly ApiResource StatefulSets = new("apps", "v1", "statefulsets", "StatefulSet", true) { ShortNames = ["sts"], Categories = ["all"], Subresources = [ScaleSub(), StatusOf("apps", "StatefulSet")] };
    public static readonly ApiResource DaemonSets = new("apps", "v1", "daemonsets", "DaemonSet", true) { ShortNames = ["ds"], Categories = ["all"], Subresources = [StatusOf("apps", "DaemonSet")] };
    public static readonly ApiResource ControllerRevisions = new("apps", "v1", "controllerrevisions", "ControllerRevision", true);
    public static readonly ApiResource Jobs = new("batch", "v1", "jobs", "Job", true) { Categories = ["all"], Subresources = [StatusOf("batch", "Job")] };
    public static readonly ApiResource CronJobs = new("batch", "v1", "cronjobs", "CronJob", true) { ShortNames = ["cj"], Categories = ["all"], Subresources = [StatusOf("batch", "CronJob")] };
    public static readonly ApiResource HorizontalPodAutoscalers = new("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", true)
    {
        ShortNames = ["hpa"], Categories = ["all"], Subresources = [StatusOf("autoscaling", "HorizontalPodAutoscaler", "v2")],
    };
    /// <summary>autoscaling/v1 view of the same objects (stored as v2, converted).</summary>
    public static readonly ApiResource HorizontalPodAutoscalersV1 = HorizontalPodAutoscalers with
    {
        Version = "v1", Subresources = [StatusOf("autoscaling", "HorizontalPodAutoscaler", "v1")],
    };
    /// <summary>events.k8s.io/v1: a view of the core/v1 events (the same partition).</summary>
    public static readonly ApiResource EventsV1 = new("events.k8s.io", "v1", "events", "Event", true) { ShortNames = ["ev"], Partition = "events" };
    /// <summary>The review APIs: create-only, answered and not stored.</summary>
    public static readonly IReadOnlyList<string> CreateOnly = ["create"];
    public static readonly ApiResource SelfSubjectAccessReviews = new("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", false) { Verbs = CreateOnly };
    public static readonly ApiResource SelfSubjectRulesReviews = new("authorization.k8s.io", "v1", "selfsubjectrulesreviews", "SelfSubjectRulesReview", false) { Verbs = CreateOnly };
    public static readonly ApiResource SubjectAccessReviews = new("authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview", false) { Verbs = CreateOnly };
    public static readonly ApiResource LocalSubjectAccessReviews = new("authorization.k8s.io", "v1", "localsubjectaccessreviews", "LocalSubjectAccessReview", true) { Verbs = CreateOnly };
    public static readonly ApiResource SelfSubjectReviews = new("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", false) { Verbs = CreateOnly };
    public static readonly ApiResource Roles = new("rbac.authorization.k8s.io", "v1", "roles", "Role", true);
    public static readonly ApiResource ClusterRoles = new("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false);
    public static readonly ApiResource RoleBindings = new("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true);
    public static readonly ApiResource ClusterRoleBindings = new("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", false);
    public static readonly ApiResource Ingresses = new("networking.k8s.io", "v1", "ingresses", "Ingress", true) { ShortNames = ["ing"], Subresources = [StatusOf("networking.k8s.io", "Ingress")] };
    public static readonly ApiResource IngressClasses = new("networking.k8s.io", "v1", "ingressclasses", "IngressClass", false);
    public static readonly ApiResource NetworkPolicies = new("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", true) { ShortNames = ["netpol"] };
    public static readonly ApiResource StorageClasses = new("storage.k8s.io", "v1", "storageclasses", "StorageClass", false) { ShortNames = ["sc"] };
    public static readonly ApiResource CsiDrivers = new("storage.k8s.io", "v1", "csidrivers", "CSIDriver", false);
    public static readonly ApiResource VolumeAttachments = new("storage.k8s.io", "v1", "volumeattachments", "VolumeAttachment", false) { Subresources = [StatusOf("storage.k8s.io", "VolumeAttachment")] };
    public static readonly ApiResource CsiNodes = new("storage.k8s.io", "v1", "csinodes", "CSINode", false);
    public static readonly ApiResource CsiStorageCapacities = new("storage.k8s.io", "v1", "csistoragecapacities", "CSIStorageCapacity", true);
    public static readonly ApiResource RuntimeClasses = new("node.k8s.io", "v1", "runtimeclasses", "RuntimeClass", false);
    public static readonly ApiResource ValidatingWebhookConfigurations = new("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", "ValidatingWebhookConfiguration", false) { Categories = ["api-extensions"] };
    public static readonly ApiResource MutatingWebhookConfigurations = new("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration", false) { Categories = ["api-extensions"] };
    public static readonly ApiResource PriorityClasses = new("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", false) { ShortNames = ["pc"] };
}
