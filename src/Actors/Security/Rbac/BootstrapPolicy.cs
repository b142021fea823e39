using System.Text.Json.Nodes;

namespace AkkaKube.Actors.Security.Rbac;

/// <summary>
/// The ClusterRoles and ClusterRoleBindings Kubernetes ships (plugin/pkg/auth/authorizer/rbac/bootstrappolicy), as the
/// apiserver creates them at start and reconciles them on every start: missing ones are created; existing ones
/// annotated <c>rbac.authorization.kubernetes.io/autoupdate: "true"</c> get the missing rules and subjects added
/// (what an administrator added stays). admin, edit and view are aggregated: their rules come from the
/// system:aggregate-to-* roles (and any ClusterRole labelled to aggregate) through the aggregation controller.
/// </summary>
public static class BootstrapPolicy
{
    public const string AutoUpdateAnnotation = "rbac.authorization.kubernetes.io/autoupdate";
    public const string BootstrappingLabel = "kubernetes.io/bootstrapping";
    public const string AggregateToAdmin = "rbac.authorization.k8s.io/aggregate-to-admin";
    public const string AggregateToEdit = "rbac.authorization.k8s.io/aggregate-to-edit";
    public const string AggregateToView = "rbac.authorization.k8s.io/aggregate-to-view";

    private static readonly string[] Read = ["get", "list", "watch"];
    private static readonly string[] Write = ["create", "delete", "deletecollection", "patch", "update"];
    private static readonly string[] ReadWrite = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

    private static PolicyRule R(string[] verbs, string group, params string[] resources) => new(verbs, [group], resources, [], []);
    private static PolicyRule Urls(string[] verbs, params string[] urls) => new(verbs, [], [], [], urls);
    private static PolicyRule Rg(string[] verbs, string[] groups, params string[] resources) => new(verbs, groups, resources, [], []);
    private static PolicyRule Named(string[] verbs, string group, string resource, params string[] names) => new(verbs, [group], [resource], names, []);

    /// <summary>Kubernetes' eventsRule: create, update and patch events in the core and events.k8s.io groups.</summary>
    private static PolicyRule Events() => Rg(["create", "update", "patch"], ["", "events.k8s.io"], "events");

    /// <summary>
    /// system:node's rules (Kubernetes' NodeRules): every kubelet holds them through the Node authorizer, which narrows
    /// secrets, configmaps, PVCs, PVs, ServiceAccount tokens and leases to the kubelet's own pods and Lease; the
    /// NodeRestriction admission narrows writes to its own Node and pods.
    /// </summary>
    public static readonly IReadOnlyList<PolicyRule> NodeRules =
    [
        R(["create"], "authentication.k8s.io", "tokenreviews"),
        R(["create"], "authorization.k8s.io", "subjectaccessreviews", "localsubjectaccessreviews"),
        R(Read, "", "services"),
        R(["create", "get", "list", "watch"], "", "nodes"),
        R(["update", "patch"], "", "nodes/status"),
        R(["update", "patch"], "", "nodes"),
        R(["create", "update", "patch"], "", "events"),
        R(Read, "", "pods"),
        R(["create", "delete"], "", "pods"),
        R(["update", "patch"], "", "pods/status"),
        R(["create"], "", "pods/eviction"),
        R(Read, "", "secrets", "configmaps"),
        R(["get"], "", "persistentvolumeclaims", "persistentvolumes"),
        R(["get"], "", "endpoints"),
        R(["create", "get", "list", "watch"], "certificates.k8s.io", "certificatesigningrequests"),
        R(["get", "create", "update", "patch", "delete"], "coordination.k8s.io", "leases"),
        R(["get"], "storage.k8s.io", "volumeattachments"),
        R(["create"], "", "serviceaccounts/token"),
        R(["get", "update", "patch"], "", "persistentvolumeclaims/status"),
        R(Read, "storage.k8s.io", "csidrivers"),
        R(["get", "create", "update", "patch", "delete"], "storage.k8s.io", "csinodes"),
        R(Read, "node.k8s.io", "runtimeclasses"),
    ];

    /// <summary>The prefix of the controllers' roles; each is bound to the ServiceAccount kube-system/&lt;rest of the name&gt;.</summary>
    public const string ControllerRolePrefix = "system:controller:";

    /// <summary>
    /// The controllers' roles (Kubernetes' controller_policy.go) for the controllers this controller-manager runs, each
    /// controller calling the API as its ServiceAccount. Rules marked "akkakube" are what a controller here does beyond
    /// its Kubernetes namesake (docs/security.md lists them).
    /// </summary>
    public static readonly IReadOnlyList<Role> ControllerRoles =
    [
        new(ControllerRolePrefix + "clusterrole-aggregation-controller",
        [
            R(["escalate", "get", "list", "watch", "update", "patch"], "rbac.authorization.k8s.io", "clusterroles"),
        ]),
        new(ControllerRolePrefix + "cronjob-controller",
        [
            R(["get", "list", "watch", "update"], "batch", "cronjobs"),
            R(["get", "list", "watch", "create", "update", "delete", "patch"], "batch", "jobs"),
            R(["update"], "batch", "cronjobs/status"),
            R(["update"], "batch", "cronjobs/finalizers"),
            R(["list", "delete"], "", "pods"),
            Events(),
        ]),
        new(ControllerRolePrefix + "daemon-set-controller",
        [
            Rg(Read, ["extensions", "apps"], "daemonsets"),
            Rg(["update"], ["extensions", "apps"], "daemonsets/status"),
            Rg(["update"], ["extensions", "apps"], "daemonsets/finalizers"),
            R(["list", "watch"], "", "nodes"),
            R(["list", "watch", "create", "delete", "patch"], "", "pods"),
            R(["create"], "", "pods/binding"),
            R(["get", "list", "watch", "create", "delete", "update", "patch"], "apps", "controllerrevisions"),
            // akkakube: the revision history records the current revision and the status on the DaemonSet with patches
            R(["patch"], "apps", "daemonsets", "daemonsets/status"),
            Events(),
        ]),
        new(ControllerRolePrefix + "deployment-controller",
        [
            Rg(["get", "list", "watch", "update"], ["extensions", "apps"], "deployments"),
            Rg(["update"], ["extensions", "apps"], "deployments/status"),
            Rg(["update"], ["extensions", "apps"], "deployments/finalizers"),
            Rg(["get", "list", "watch", "create", "update", "patch", "delete"], ["apps", "extensions"], "replicasets"),
            R(["get", "list", "watch", "update"], "", "pods"),
            // akkakube: the revision annotation and the status are written with merge patches
            Rg(["patch"], ["apps"], "deployments", "deployments/status"),
            Events(),
        ]),
        new(ControllerRolePrefix + "disruption-controller",
        [
            Rg(Read, ["extensions", "apps"], "deployments"),
            Rg(Read, ["apps", "extensions"], "replicasets"),
            R(Read, "", "replicationcontrollers"),
            R(Read, "policy", "poddisruptionbudgets"),
            R(Read, "apps", "statefulsets"),
            R(["update"], "policy", "poddisruptionbudgets/status"),
            R(["get"], "*", "*/scale"),
            Events(),
        ]),
        new(ControllerRolePrefix + "endpointslice-controller",
        [
            R(Read, "", "services", "pods", "nodes"),
            R(["update"], "", "services/finalizers"),
            R(["get", "list", "create", "update", "delete"], "discovery.k8s.io", "endpointslices"),
            // akkakube: this controller also keeps the Endpoints objects (Kubernetes' endpoint-controller rules)
            R(["get", "list", "create", "update", "delete"], "", "endpoints"),
            R(["create"], "", "endpoints/restricted"),
            Events(),
        ]),
        new(ControllerRolePrefix + "generic-garbage-collector",
        [
            R(["get", "list", "watch", "patch", "update", "delete"], "*", "*"),
            Events(),
        ]),
        new(ControllerRolePrefix + "horizontal-pod-autoscaler",
        [
            R(Read, "autoscaling", "horizontalpodautoscalers"),
            R(["update"], "autoscaling", "horizontalpodautoscalers/status"),
            R(["get", "update"], "*", "*/scale"),
            // akkakube: the new replica count is written to the scale subresource with a merge patch
            R(["patch"], "*", "*/scale"),
            R(["list"], "", "pods"),
            R(["list"], "metrics.k8s.io", "pods"),
            R(["get", "list"], "custom.metrics.k8s.io", "*"),
            R(["get", "list"], "external.metrics.k8s.io", "*"),
            Events(),
        ]),
        new(ControllerRolePrefix + "job-controller",
        [
            R(["get", "list", "watch", "update", "patch"], "batch", "jobs"),
            R(["update"], "batch", "jobs/status"),
            R(["update"], "batch", "jobs/finalizers"),
            R(["list", "watch", "create", "delete", "patch"], "", "pods"),
            // akkakube: finished Jobs with ttlSecondsAfterFinished are deleted here (Kubernetes' ttl-after-finished-controller)
            R(["delete"], "batch", "jobs"),
            Events(),
        ]),
        new(ControllerRolePrefix + "namespace-controller",
        [
            R(["get", "list", "watch", "delete"], "", "namespaces"),
            R(["update"], "", "namespaces/finalize", "namespaces/status"),
            R(["get", "list", "delete", "deletecollection"], "*", "*"),
            // akkakube: the namespace controller also re-creates the system namespaces (Kubernetes' apiserver
            // system-namespaces controller) and writes the namespace phase and finalizers with a patch or an update
            R(["create", "patch", "update"], "", "namespaces"),
        ]),
        new(ControllerRolePrefix + "node-controller",
        [
            R(["get", "list", "update", "delete", "patch"], "", "nodes"),
            R(["patch", "update"], "", "nodes/status"),
            R(["update", "patch"], "", "pods/status"),
            R(["list", "delete", "get"], "", "pods"),
            Events(),
        ]),
        new(ControllerRolePrefix + "persistent-volume-binder",
        [
            R(["get", "list", "watch", "update", "create", "delete"], "", "persistentvolumes"),
            R(["update"], "", "persistentvolumes/status"),
            R(["get", "list", "watch", "update"], "", "persistentvolumeclaims"),
            R(["update"], "", "persistentvolumeclaims/status"),
            R(["list", "watch", "get", "create", "delete"], "", "pods"),
            R(Read, "storage.k8s.io", "storageclasses"),
            R(["get", "create", "update", "delete"], "", "endpoints"),
            R(["get", "create", "delete"], "", "services"),
            R(["get"], "", "secrets"),
            R(["get", "list"], "", "nodes"),
            R(["watch"], "", "events"),
            // akkakube: claims' annotations are written with a merge patch
            R(["patch"], "", "persistentvolumeclaims"),
            Events(),
        ]),
        new(ControllerRolePrefix + "pod-garbage-collector",
        [
            R(["list", "watch", "delete"], "", "pods"),
            R(["get", "list"], "", "nodes"),
            R(["patch"], "", "pods/status"),
            // akkakube: the DisruptionTarget condition is written with an update of the status
            R(["update"], "", "pods/status"),
        ]),
        new(ControllerRolePrefix + "replicaset-controller",
        [
            Rg(["get", "list", "watch", "update"], ["apps", "extensions"], "replicasets"),
            Rg(["update"], ["apps", "extensions"], "replicasets/status"),
            Rg(["update"], ["apps", "extensions"], "replicasets/finalizers"),
            R(["list", "watch", "patch", "create", "delete"], "", "pods"),
            Events(),
        ]),
        new(ControllerRolePrefix + "resourcequota-controller",
        [
            R(["list", "watch"], "*", "*"),
            R(["update"], "", "resourcequotas/status"),
            Events(),
        ]),
        new(ControllerRolePrefix + "root-ca-cert-publisher",
        [
            R(["create", "update"], "", "configmaps"),
            Events(),
        ]),
        new(ControllerRolePrefix + "service-account-controller",
        [
            R(["create"], "", "serviceaccounts"),
            Events(),
        ]),
        new(ControllerRolePrefix + "statefulset-controller",
        [
            R(["list", "watch"], "", "pods"),
            R(Read, "apps", "statefulsets"),
            R(["update"], "apps", "statefulsets/status"),
            R(["update"], "apps", "statefulsets/finalizers"),
            R(["get", "create", "delete", "update", "patch"], "", "pods"),
            R(["get", "create", "delete", "update", "patch", "list", "watch"], "apps", "controllerrevisions"),
            R(["get", "create"], "", "persistentvolumeclaims"),
            R(["update"], "", "persistentvolumeclaims"),
            // akkakube: the revision history records the current revision and the status on the StatefulSet with patches
            R(["patch"], "apps", "statefulsets", "statefulsets/status"),
            Events(),
        ]),
    ];

    /// <summary>The controller-manager's controllers → the ServiceAccount each calls the API as (Kubernetes' names).</summary>
    public static readonly IReadOnlyDictionary<string, string> ControllerServiceAccounts = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["replicaset"] = "replicaset-controller",
        ["deployment"] = "deployment-controller",
        ["garbage-collector"] = "generic-garbage-collector",
        ["namespace"] = "namespace-controller",
        ["node-lifecycle"] = "node-controller",
        ["clusterrole-aggregation"] = "clusterrole-aggregation-controller",
        ["serviceaccount"] = "service-account-controller",
        ["statefulset"] = "statefulset-controller",
        ["daemonset"] = "daemon-set-controller",
        ["endpointslice"] = "endpointslice-controller",
        ["horizontalpodautoscaling"] = "horizontal-pod-autoscaler",
        ["job"] = "job-controller",
        ["cronjob"] = "cronjob-controller",
        ["persistentvolume-binder"] = "persistent-volume-binder",
        ["resourcequota"] = "resourcequota-controller",
        ["disruption"] = "disruption-controller",
        ["podgc"] = "pod-garbage-collector",
        ["root-ca-cert-publisher"] = "root-ca-cert-publisher",
    };

    /// <summary>A bootstrap ClusterRole: its rules, labels and (for admin/edit/view) the label it aggregates.</summary>
    public sealed record Role(string Name, IReadOnlyList<PolicyRule> Rules, IReadOnlyDictionary<string, string>? Labels = null, string? Aggregates = null);

    public sealed record Binding(string Name, string RoleName, IReadOnlyList<RbacSubject> Subjects);

    public static readonly IReadOnlyList<Role> ClusterRoles =
    [
        new("cluster-admin", [R(["*"], "*", "*"), Urls(["*"], "*")]),
        new("system:discovery", [Urls(["get"], "/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/")]),
        new("system:public-info-viewer", [Urls(["get"], "/healthz", "/livez", "/readyz", "/version", "/version/")]),
        new("system:basic-user",
        [
            R(["create"], "authorization.k8s.io", "selfsubjectaccessreviews", "selfsubjectrulesreviews"),
            R(["create"], "authentication.k8s.io", "selfsubjectreviews"),
        ]),
        new("system:service-account-issuer-discovery", [Urls(["get"], "/.well-known/openid-configuration", "/.well-known/openid-configuration/", "/openid/v1/jwks", "/openid/v1/jwks/")]),
        new("system:monitoring", [Urls(["get"], "/healthz", "/healthz/*", "/livez", "/livez/*", "/metrics", "/metrics/slis", "/readyz", "/readyz/*")]),
        new("system:auth-delegator",
        [
            R(["create"], "authentication.k8s.io", "tokenreviews"),
            R(["create"], "authorization.k8s.io", "subjectaccessreviews"),
        ]),
        new("admin", [], Aggregates: AggregateToAdmin),
        new("edit", [], new Dictionary<string, string> { [AggregateToAdmin] = "true" }, AggregateToEdit),
        new("view", [], new Dictionary<string, string> { [AggregateToEdit] = "true" }, AggregateToView),
        new("system:aggregate-to-admin",
        [
            R(["create"], "authorization.k8s.io", "localsubjectaccessreviews"),
            R(ReadWrite, "rbac.authorization.k8s.io", "rolebindings", "roles"),
        ], new Dictionary<string, string> { [AggregateToAdmin] = "true" }),
        new("system:aggregate-to-edit",
        [
            R(["get", "list", "watch"], "", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"),
            R(["impersonate"], "", "serviceaccounts"),
            R(Write, "", "pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"),
            R(["create"], "", "pods/eviction"),
            R(Write, "", "configmaps", "events", "persistentvolumeclaims", "replicationcontrollers", "replicationcontrollers/scale", "secrets",
                "serviceaccounts", "services", "services/proxy"),
            R(["create"], "", "serviceaccounts/token"),
            R(Write, "apps", "daemonsets", "deployments", "deployments/rollback", "deployments/scale", "replicasets", "replicasets/scale",
                "statefulsets", "statefulsets/scale"),
            R(Write, "autoscaling", "horizontalpodautoscalers"),
            R(Write, "batch", "cronjobs", "jobs"),
            R(Write, "policy", "poddisruptionbudgets"),
            R(Write, "networking.k8s.io", "ingresses", "networkpolicies"),
            R(ReadWrite, "coordination.k8s.io", "leases"),
        ], new Dictionary<string, string> { [AggregateToEdit] = "true" }),
        new("system:aggregate-to-view",
        [
            R(Read, "", "configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "pods", "replicationcontrollers",
                "replicationcontrollers/scale", "serviceaccounts", "services", "services/status"),
            R(Read, "", "bindings", "events", "limitranges", "namespaces/status", "pods/log", "pods/status", "replicationcontrollers/status",
                "resourcequotas", "resourcequotas/status"),
            R(Read, "", "namespaces"),
            R(Read, "discovery.k8s.io", "endpointslices"),
            R(Read, "apps", "controllerrevisions", "daemonsets", "daemonsets/status", "deployments", "deployments/scale", "deployments/status",
                "replicasets", "replicasets/scale", "replicasets/status", "statefulsets", "statefulsets/scale", "statefulsets/status"),
            R(Read, "autoscaling", "horizontalpodautoscalers", "horizontalpodautoscalers/status"),
            R(Read, "batch", "cronjobs", "cronjobs/status", "jobs", "jobs/status"),
            R(Read, "policy", "poddisruptionbudgets", "poddisruptionbudgets/status"),
            R(Read, "networking.k8s.io", "ingresses", "ingresses/status", "networkpolicies"),
        ], new Dictionary<string, string> { [AggregateToView] = "true" }),
        new("system:node", NodeRules),
        new("system:node-proxier",
        [
            R(["list", "watch"], "", "services", "endpoints"),
            R(Read, "", "nodes"),
            Events(),
            R(["list", "watch"], "discovery.k8s.io", "endpointslices"),
        ]),
        new("system:kube-scheduler",
        [
            Events(),
            R(["create"], "coordination.k8s.io", "leases"),
            Named(["get", "update"], "coordination.k8s.io", "leases", "kube-scheduler"),
            R(["create"], "", "endpoints"),
            Named(["get", "update"], "", "endpoints", "kube-scheduler"),
            R(Read, "", "nodes"),
            R(["get", "list", "watch", "delete"], "", "pods"),
            R(["create"], "", "pods/binding", "bindings"),
            R(["patch", "update"], "", "pods/status"),
            R(Read, "", "services", "replicationcontrollers"),
            Rg(Read, ["apps", "extensions"], "replicasets"),
            R(Read, "apps", "statefulsets"),
            R(Read, "policy", "poddisruptionbudgets"),
            R(Read, "", "persistentvolumeclaims", "persistentvolumes"),
            R(["create"], "authentication.k8s.io", "tokenreviews"),
            R(["create"], "authorization.k8s.io", "subjectaccessreviews"),
            R(Read, "storage.k8s.io", "csinodes"),
            R(Read, "", "namespaces"),
            R(Read, "storage.k8s.io", "csidrivers"),
            R(Read, "storage.k8s.io", "csistoragecapacities"),
        ]),
        new("system:volume-scheduler",
        [
            R(["get", "list", "watch", "update"], "", "persistentvolumes"),
            R(Read, "storage.k8s.io", "storageclasses"),
            R(["get", "list", "watch", "update"], "", "persistentvolumeclaims"),
        ]),
        new("system:kube-controller-manager",
        [
            Events(),
            R(["create"], "coordination.k8s.io", "leases"),
            Named(["get", "update"], "coordination.k8s.io", "leases", "kube-controller-manager"),
            R(["create"], "", "endpoints"),
            Named(["get", "update"], "", "endpoints", "kube-controller-manager"),
            R(["create"], "", "secrets", "serviceaccounts"),
            R(["delete"], "", "secrets"),
            R(["get"], "", "namespaces", "secrets", "serviceaccounts", "configmaps"),
            R(["update"], "", "secrets", "serviceaccounts"),
            R(["create"], "authentication.k8s.io", "tokenreviews"),
            R(["create"], "authorization.k8s.io", "subjectaccessreviews"),
            // all the shared informers
            R(["list", "watch"], "*", "*"),
            R(["create"], "", "serviceaccounts/token"),
        ]),
        // the cloud-controller-manager's role as the cloud-provider manifests define it, limited to what it does here
        new("system:cloud-controller-manager",
        [
            Events(),
            R(["get", "list", "watch", "update", "patch", "delete"], "", "nodes"),
            R(["patch"], "", "nodes/status"),
            R(["list", "watch", "patch", "update"], "", "services"),
            R(["list", "watch", "patch", "update"], "", "services/status"),
            R(["create"], "coordination.k8s.io", "leases"),
            Named(["get", "update"], "coordination.k8s.io", "leases", "cloud-controller-manager"),
        ]),
        // akkakube's local-path provisioner node agent (docs/storage.md): removes released volumes' directories and finalizer
        new("system:akkakube:local-path-provisioner",
        [
            R(["get", "list", "watch", "update"], "", "persistentvolumes"),
            Events(),
        ]),
        // akkakube's NetworkPolicy node agent (docs/network-policy.md): reads policies and the pods and namespaces they select
        new("system:akkakube:network-policy",
        [
            R(["list", "watch"], "", "pods", "namespaces"),
            R(["list", "watch"], "networking.k8s.io", "networkpolicies"),
            Events(),
        ]),
        .. ControllerRoles,
    ];

    private static RbacSubject Group(string name) => new("Group", name, "");

    public static readonly IReadOnlyList<Binding> ClusterRoleBindings =
    [
        new("cluster-admin", "cluster-admin", [Group(UserInfo.MastersGroup)]),
        new("system:discovery", "system:discovery", [Group(UserInfo.AuthenticatedGroup)]),
        new("system:basic-user", "system:basic-user", [Group(UserInfo.AuthenticatedGroup)]),
        new("system:public-info-viewer", "system:public-info-viewer", [Group(UserInfo.AuthenticatedGroup), Group(UserInfo.UnauthenticatedGroup)]),
        new("system:service-account-issuer-discovery", "system:service-account-issuer-discovery", [Group(ServiceAccountUser.AllGroup)]),
        new("system:monitoring", "system:monitoring", [Group("system:monitoring")]),
        new("system:kube-scheduler", "system:kube-scheduler", [User(ComponentIdentities.KubeScheduler.Name)]),
        new("system:volume-scheduler", "system:volume-scheduler", [User(ComponentIdentities.KubeScheduler.Name)]),
        new("system:kube-controller-manager", "system:kube-controller-manager", [User(ComponentIdentities.KubeControllerManager.Name)]),
        new("system:node-proxier", "system:node-proxier", [User(ComponentIdentities.KubeProxy.Name)]),
        // deprecated since the Node authorizer: kept without subjects, as Kubernetes ships it
        new("system:node", "system:node", []),
        new("system:cloud-controller-manager", "system:cloud-controller-manager", [KubeSystemServiceAccount("cloud-controller-manager")]),
        new("system:akkakube:local-path-provisioner", "system:akkakube:local-path-provisioner", [KubeSystemServiceAccount("local-path-provisioner")]),
        new("system:akkakube:network-policy", "system:akkakube:network-policy", [KubeSystemServiceAccount("network-policy")]),
        .. ControllerRoles.Select(r => new Binding(r.Name, r.Name, [KubeSystemServiceAccount(r.Name[ControllerRolePrefix.Length..])])),
    ];

    private static RbacSubject User(string name) => new("User", name, "");
    private static RbacSubject KubeSystemServiceAccount(string name) => new("ServiceAccount", name, ComponentIdentities.KubeSystem);

    private static JsonObject Metadata(string name, IReadOnlyDictionary<string, string>? labels)
    {
        var l = new JsonObject { [BootstrappingLabel] = "rbac-defaults" };
        foreach (var (k, v) in labels ?? new Dictionary<string, string>()) l[k] = v;
        return new JsonObject { ["name"] = name, ["labels"] = l, ["annotations"] = new JsonObject { [AutoUpdateAnnotation] = "true" } };
    }

    public static JsonObject ToJson(Role role)
    {
        var o = new JsonObject
        {
            ["apiVersion"] = "rbac.authorization.k8s.io/v1", ["kind"] = "ClusterRole", ["metadata"] = Metadata(role.Name, role.Labels),
            ["rules"] = new JsonArray(role.Rules.Select(r => (JsonNode?)r.ToJson()).ToArray()),
        };
        if (role.Aggregates is { } label)
            o["aggregationRule"] = new JsonObject
            {
                ["clusterRoleSelectors"] = new JsonArray(new JsonObject { ["matchLabels"] = new JsonObject { [label] = "true" } }),
            };
        return o;
    }

    public static JsonObject ToJson(Binding binding) => new()
    {
        ["apiVersion"] = "rbac.authorization.k8s.io/v1", ["kind"] = "ClusterRoleBinding", ["metadata"] = Metadata(binding.Name, null),
        ["roleRef"] = new JsonObject { ["apiGroup"] = "rbac.authorization.k8s.io", ["kind"] = "ClusterRole", ["name"] = binding.RoleName },
        ["subjects"] = new JsonArray(binding.Subjects.Select(s => (JsonNode?)(s.Kind == "ServiceAccount"
            ? new JsonObject { ["kind"] = s.Kind, ["name"] = s.Name, ["namespace"] = s.Namespace }
            : new JsonObject { ["apiGroup"] = "rbac.authorization.k8s.io", ["kind"] = s.Kind, ["name"] = s.Name })).ToArray()),
    };

    /// <summary>
    /// The reconciled object for an existing one (null: nothing to change): with autoupdate not "false", the bootstrap
    /// rules (subjects) missing from it are added, labels and the aggregation rule restored. Aggregated roles' rules
    /// belong to the aggregation controller and are left alone.
    /// </summary>
    public static JsonObject? Reconcile(JsonObject existing, JsonObject wanted, string listField)
    {
        if (RbacBinding.Str(existing["metadata"]?["annotations"]?[AutoUpdateAnnotation]) == "false") return null;
        var updated = (JsonObject)existing.DeepClone();
        var changed = false;
        if (existing["aggregationRule"] is null && wanted["aggregationRule"] is { } agg)
        {
            updated["aggregationRule"] = agg.DeepClone();
            changed = true;
        }
        if (wanted["aggregationRule"] is null)
        {
            var have = updated[listField] as JsonArray ?? [];
            foreach (var item in (wanted[listField] as JsonArray ?? []).OfType<JsonObject>())
                if (!have.Any(h => JsonNode.DeepEquals(h, item)))
                {
                    have.Add(item.DeepClone());
                    changed = true;
                }
            updated[listField] = have;
        }
        var labels = updated["metadata"]!["labels"] as JsonObject ?? [];
        foreach (var (k, v) in wanted["metadata"]!["labels"]!.AsObject())
            if (RbacBinding.Str(labels[k]) != RbacBinding.Str(v))
            {
                labels[k] = v!.DeepClone();
                changed = true;
            }
        updated["metadata"]!["labels"] = labels;
        return changed ? updated : null;
    }
}
