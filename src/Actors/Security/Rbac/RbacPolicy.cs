using System.Text.Json.Nodes;

namespace AkkaKube.Actors.Security.Rbac;

/// <summary>A RoleBinding or ClusterRoleBinding, parsed: where it applies (namespace; "" for cluster bindings), its role and subjects.</summary>
public sealed record RbacBinding(string Namespace, string Name, string RoleKind, string RoleName, IReadOnlyList<RbacSubject> Subjects)
{
    public static RbacBinding Parse(JsonObject o)
    {
        var meta = o["metadata"] as JsonObject;
        var ns = Str(meta?["namespace"]);
        var subjects = (o["subjects"] as JsonArray ?? []).OfType<JsonObject>()
            .Select(s => new RbacSubject(Str(s["kind"]), Str(s["name"]), Str(s["namespace"]) is { Length: > 0 } sn ? sn : ns)).ToList();
        return new RbacBinding(ns, Str(meta?["name"]), Str(o["roleRef"]?["kind"]), Str(o["roleRef"]?["name"]), subjects);
    }

    public bool AppliesTo(UserInfo user) => Subjects.Any(s => s.Matches(user));

    internal static string Str(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : "";
}

/// <summary>A binding subject: User, Group or ServiceAccount (namespace defaulted to the binding's).</summary>
public sealed record RbacSubject(string Kind, string Name, string Namespace)
{
    public bool Matches(UserInfo user) => Kind switch
    {
        "User" => user.Name == Name,
        "Group" => user.InGroup(Name),
        "ServiceAccount" => user.Name == ServiceAccountUser.UserName(Namespace, Name),
        _ => false,
    };
}

/// <summary>The names Kubernetes gives ServiceAccounts as users and groups.</summary>
public static class ServiceAccountUser
{
    public const string Prefix = "system:serviceaccount:";
    public const string AllGroup = "system:serviceaccounts";

    public static string UserName(string ns, string name) => $"{Prefix}{ns}:{name}";
    public static string NamespaceGroup(string ns) => $"{AllGroup}:{ns}";

    /// <summary>(namespace, name) of a ServiceAccount user name, or null.</summary>
    public static (string Namespace, string Name)? Parse(string userName) =>
        userName.StartsWith(Prefix, StringComparison.Ordinal) && userName[Prefix.Length..].Split(':') is [{ Length: > 0 } ns, { Length: > 0 } n] ? (ns, n) : null;
}

/// <summary>
/// An immutable snapshot of every Role, ClusterRole and binding (built by <see cref="RbacCache"/> from its informers):
/// the RBAC authorizer evaluates requests against it without touching the store. Aggregated ClusterRoles are read
/// with the rules their aggregation controller wrote into them, as in Kubernetes.
/// </summary>
public sealed class RbacPolicy
{
    public static readonly RbacPolicy Empty = new([], [], [], []);

    private readonly IReadOnlyDictionary<string, IReadOnlyList<PolicyRule>> _clusterRoles;
    private readonly IReadOnlyDictionary<(string Ns, string Name), IReadOnlyList<PolicyRule>> _roles;
    private readonly IReadOnlyList<RbacBinding> _clusterBindings;
    private readonly IReadOnlyDictionary<string, List<RbacBinding>> _bindingsByNamespace;

    public RbacPolicy(IEnumerable<JsonObject> clusterRoles, IEnumerable<JsonObject> roles, IEnumerable<JsonObject> clusterRoleBindings, IEnumerable<JsonObject> roleBindings)
    {
        _clusterRoles = clusterRoles.ToDictionary(r => RbacBinding.Str(r["metadata"]?["name"]), r => PolicyRule.ParseAll(r["rules"]), StringComparer.Ordinal);
        _roles = roles.ToDictionary(r => (RbacBinding.Str(r["metadata"]?["namespace"]), RbacBinding.Str(r["metadata"]?["name"])), r => PolicyRule.ParseAll(r["rules"]));
        _clusterBindings = clusterRoleBindings.Select(RbacBinding.Parse).Where(b => b.RoleKind == "ClusterRole").ToList();
        _bindingsByNamespace = roleBindings.Select(RbacBinding.Parse).GroupBy(b => b.Namespace, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
    }

    public IReadOnlyList<PolicyRule> RulesOfClusterRole(string name) => _clusterRoles.TryGetValue(name, out var r) ? r : [];

    public IReadOnlyList<PolicyRule> RulesOfRole(string ns, string name) => _roles.TryGetValue((ns, name), out var r) ? r : [];

    private IReadOnlyList<PolicyRule> RulesOf(RbacBinding b) => b.RoleKind == "Role" ? RulesOfRole(b.Namespace, b.RoleName) : RulesOfClusterRole(b.RoleName);

    /// <summary>The bindings that apply to the user for a request in <paramref name="ns"/> ("" = cluster scope): cluster bindings first.</summary>
    private IEnumerable<RbacBinding> BindingsFor(UserInfo user, string ns)
    {
        foreach (var b in _clusterBindings) if (b.AppliesTo(user)) yield return b;
        if (ns.Length > 0 && _bindingsByNamespace.TryGetValue(ns, out var local))
            foreach (var b in local) if (b.AppliesTo(user)) yield return b;
    }

    /// <summary>Whether some rule bound to the user allows the request (RBAC only denies by not allowing).</summary>
    public bool Allows(AuthorizationAttributes a) =>
        BindingsFor(a.User, a.IsResourceRequest ? a.Namespace : "").Any(b => RulesOf(b).Any(r => r.Allows(a)));

    /// <summary>Every rule the user holds in <paramref name="ns"/> ("" = cluster-wide rules only): SelfSubjectRulesReview and escalation checks.</summary>
    public IReadOnlyList<PolicyRule> RulesFor(UserInfo user, string ns) => BindingsFor(user, ns).SelectMany(RulesOf).ToList();
}
