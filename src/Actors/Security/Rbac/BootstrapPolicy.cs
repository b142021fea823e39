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
    ];

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
        ["subjects"] = new JsonArray(binding.Subjects.Select(s => (JsonNode?)new JsonObject
        {
            ["apiGroup"] = "rbac.authorization.k8s.io", ["kind"] = s.Kind, ["name"] = s.Name,
        }).ToArray()),
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
