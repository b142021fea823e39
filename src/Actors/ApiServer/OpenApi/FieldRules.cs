namespace AkkaKube.Actors.ApiServer.OpenApi;

/// <summary>How a list field merges: Kubernetes' patch strategy, merge key and list type for it.</summary>
public sealed record ListRule(string? MergeKey, string Strategy, string ListType);

/// <summary>
/// What the KubernetesClient models do not carry but the Kubernetes API types declare in their Go
/// tags: which fields are required, and how lists merge (patchStrategy/patchMergeKey and
/// listType/listMapKeys). Keyed by the Kubernetes type name (without package) and JSON field name,
/// for the types of the served kinds; a type that is not listed simply has no such facts.
/// </summary>
public static class FieldRules
{
    private static readonly Dictionary<string, string[]> RequiredFields = new()
    {
        ["Container"] = ["name"],
        ["EphemeralContainer"] = ["name"],
        ["ContainerPort"] = ["containerPort"],
        ["EnvVar"] = ["name"],
        ["VolumeMount"] = ["name", "mountPath"],
        ["VolumeDevice"] = ["name", "devicePath"],
        ["Volume"] = ["name"],
        ["KeyToPath"] = ["key", "path"],
        ["ConfigMapKeySelector"] = ["key"],
        ["SecretKeySelector"] = ["key"],
        ["ObjectFieldSelector"] = ["fieldPath"],
        ["ResourceFieldSelector"] = ["resource"],
        ["HostPathVolumeSource"] = ["path"],
        ["PersistentVolumeClaimVolumeSource"] = ["claimName"],
        ["HTTPGetAction"] = ["port"],
        ["HTTPHeader"] = ["name", "value"],
        ["TCPSocketAction"] = ["port"],
        ["GRPCAction"] = ["port"],
        ["SleepAction"] = ["seconds"],
        ["PodSpec"] = ["containers"],
        ["PodCondition"] = ["type", "status"],
        ["PodReadinessGate"] = ["conditionType"],
        ["HostAlias"] = ["ip"],
        ["Sysctl"] = ["name", "value"],
        ["NodeSelector"] = ["nodeSelectorTerms"],
        ["NodeSelectorRequirement"] = ["key", "operator"],
        ["PreferredSchedulingTerm"] = ["weight", "preference"],
        ["PodAffinityTerm"] = ["topologyKey"],
        ["WeightedPodAffinityTerm"] = ["weight", "podAffinityTerm"],
        ["TopologySpreadConstraint"] = ["maxSkew", "topologyKey", "whenUnsatisfiable"],
        ["Taint"] = ["key", "effect"],
        ["NodeCondition"] = ["type", "status"],
        ["NodeAddress"] = ["type", "address"],
        ["DaemonEndpoint"] = ["Port"],
        ["NodeSystemInfo"] = ["machineID", "systemUUID", "bootID", "kernelVersion", "osImage", "containerRuntimeVersion", "kubeletVersion", "kubeProxyVersion", "operatingSystem", "architecture"],
        ["ServicePort"] = ["port"],
        ["PortStatus"] = ["port", "protocol"],
        ["EndpointAddress"] = ["ip"],
        ["EndpointPort"] = ["port"],
        ["Event"] = ["metadata", "involvedObject"],
        ["Binding"] = ["target"],
        ["ContainerStatus"] = ["name", "ready", "restartCount", "image", "imageID"],
        ["DeploymentSpec"] = ["selector", "template"],
        ["DeploymentCondition"] = ["type", "status"],
        ["ReplicaSetSpec"] = ["selector"],
        ["ReplicaSetStatus"] = ["replicas"],
        ["ReplicaSetCondition"] = ["type", "status"],
        ["ScaleStatus"] = ["replicas"],
        ["LabelSelectorRequirement"] = ["key", "operator"],
        ["OwnerReference"] = ["apiVersion", "kind", "name", "uid"],
        ["Condition"] = ["type", "status", "lastTransitionTime", "reason", "message"],
        ["EndpointSlice"] = ["addressType", "endpoints"],
        ["Endpoint"] = ["addresses"],
        ["ForZone"] = ["name"],
        ["ForNode"] = ["name"],
        ["PodDisruptionBudgetStatus"] = ["disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods"],
        ["CrossVersionObjectReference"] = ["kind", "name"],
    };

    private static readonly Dictionary<(string Type, string Field), ListRule> Lists = new()
    {
        [("PodSpec", "containers")] = new("name", "merge", "map"),
        [("PodSpec", "initContainers")] = new("name", "merge", "map"),
        [("PodSpec", "ephemeralContainers")] = new("name", "merge", "map"),
        [("PodSpec", "volumes")] = new("name", "merge,retainKeys", "map"),
        [("PodSpec", "imagePullSecrets")] = new("name", "merge", "map"),
        [("PodSpec", "hostAliases")] = new("ip", "merge", "map"),
        [("PodSpec", "topologySpreadConstraints")] = new("topologyKey", "merge", "map"),
        [("PodSpec", "resourceClaims")] = new("name", "merge,retainKeys", "map"),
        [("PodSpec", "schedulingGates")] = new("name", "merge", "map"),
        [("Container", "env")] = new("name", "merge", "map"),
        [("Container", "ports")] = new("containerPort", "merge", "map"),
        [("Container", "volumeMounts")] = new("mountPath", "merge", "map"),
        [("Container", "volumeDevices")] = new("devicePath", "merge", "map"),
        [("EphemeralContainer", "env")] = new("name", "merge", "map"),
        [("EphemeralContainer", "volumeMounts")] = new("mountPath", "merge", "map"),
        [("EphemeralContainer", "volumeDevices")] = new("devicePath", "merge", "map"),
        [("PodStatus", "conditions")] = new("type", "merge", "map"),
        [("PodStatus", "podIPs")] = new("ip", "merge", "map"),
        [("NodeStatus", "conditions")] = new("type", "merge", "map"),
        [("NodeStatus", "addresses")] = new("type", "merge", "map"),
        [("NodeSpec", "podCIDRs")] = new(null, "merge", "set"),
        [("ServiceSpec", "ports")] = new("port", "merge", "map"),
        [("DeploymentStatus", "conditions")] = new("type", "merge", "map"),
        [("ReplicaSetStatus", "conditions")] = new("type", "merge", "map"),
        [("PodDisruptionBudgetStatus", "conditions")] = new("type", "merge", "map"),
        [("NamespaceStatus", "conditions")] = new("type", "merge", "map"),
        [("ObjectMeta", "ownerReferences")] = new("uid", "merge", "map"),
        [("ObjectMeta", "finalizers")] = new(null, "merge", "set"),
    };

    /// <summary>Kubernetes' retainKeys strategy on a union field (the old member is dropped when another is set).</summary>
    private static readonly HashSet<(string Type, string Field)> RetainKeys = [("DeploymentSpec", "strategy")];

    public static IReadOnlyList<string> Required(string typeName) => RequiredFields.GetValueOrDefault(typeName) ?? [];

    public static ListRule? ListOf(string typeName, string field) => Lists.GetValueOrDefault((typeName, field));

    public static bool IsRetainKeys(string typeName, string field) => RetainKeys.Contains((typeName, field));
}
