using Akka.Actor;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Security.Rbac;

/// <summary>
/// The apiserver's authorizer, in Kubernetes' order (<c>--authorization-mode=Node,RBAC</c> after the privileged group):
/// members of system:masters are always allowed (the admin kubeconfig and the apiserver's own loopback keep working
/// whatever RBAC holds), then the Node authorizer decides for kubelets (<see cref="Node.NodeAuthorizer"/>, over the
/// <see cref="Node.NodeGraph"/>), then RBAC over the informer-fed <see cref="RbacPolicy"/> snapshot — no store
/// round-trip per request. Until a cache has listed once, callers that need it wait (bounded), then get a 503, never a
/// wrong answer. One per node: <c>RbacAuthorizer.Get(system)</c>; its caches run on control-plane nodes.
/// </summary>
public sealed class RbacAuthorizer(Node.NodeGraph? graph = null) : IExtension
{
    private volatile RbacPolicy _policy = RbacPolicy.Empty;
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Node.NodeGraph _graph = graph ?? new Node.NodeGraph();

    public static RbacAuthorizer Get(ActorSystem system) => system.WithExtension<RbacAuthorizer, RbacAuthorizerProvider>();

    public RbacPolicy Policy => _policy;
    public bool Synced => _synced.Task.IsCompleted;

    /// <summary>Called by the cache after every change (and first after its initial lists).</summary>
    public void Publish(RbacPolicy policy, bool synced)
    {
        _policy = policy;
        if (synced) _synced.TrySetResult();
    }

    /// <summary>Whether the request is allowed; waits (up to <paramref name="wait"/>) for the first sync when a cache must decide.</summary>
    public async Task<bool> AuthorizeAsync(AuthorizationAttributes attributes, TimeSpan wait, CancellationToken ct) =>
        (await DecideAsync(attributes, wait, ct)).Allowed;

    /// <summary>As <see cref="AuthorizeAsync"/>, with the reason an authorizer gave for not allowing (the Node authorizer's).</summary>
    public async Task<(bool Allowed, string? Reason)> DecideAsync(AuthorizationAttributes attributes, TimeSpan wait, CancellationToken ct)
    {
        if (attributes.User.InGroup(UserInfo.MastersGroup)) return (true, null);
        if (Node.NodeAuthorizer.NeedsGraph(attributes)) await _graph.WaitSyncedAsync(wait, ct);
        var node = await Node.NodeAuthorizer.AuthorizeAsync(attributes, _graph, Node.NodeAuthorizer.GraphGrace, ct);
        if (node.Allowed) return (true, null);
        await WaitSyncedAsync(wait, ct);
        return (_policy.Allows(attributes), node.Reason);
    }

    /// <summary>As <see cref="AuthorizeAsync"/>, but a denial is the 403 Status Kubernetes answers.</summary>
    public async Task RequireAsync(AuthorizationAttributes attributes, TimeSpan wait, CancellationToken ct)
    {
        var (allowed, reason) = await DecideAsync(attributes, wait, ct);
        if (!allowed) throw Forbidden(attributes, reason);
    }

    public async Task WaitSyncedAsync(TimeSpan wait, CancellationToken ct)
    {
        if (Synced) return;
        try
        {
            await _synced.Task.WaitAsync(wait, ct);
        }
        catch (TimeoutException)
        {
            throw new ApiException(503, "ServiceUnavailable", "the RBAC authorizer has not synced its roles and bindings yet; retry");
        }
    }

    /// <summary>403 Forbidden with Kubernetes' message and details (name, group, kind = resource).</summary>
    public static ApiException Forbidden(AuthorizationAttributes a, string? extra = null) =>
        new(403, "Forbidden", a.ForbiddenMessage(extra), a.IsResourceRequest ? Details(a) : null);

    private static System.Text.Json.Nodes.JsonObject Details(AuthorizationAttributes a)
    {
        var d = new System.Text.Json.Nodes.JsonObject();
        if (a.Name.Length > 0) d["name"] = a.Name;
        if (a.Group.Length > 0) d["group"] = a.Group;
        d["kind"] = a.Resource;
        return d;
    }
}

public sealed class RbacAuthorizerProvider : ExtensionIdProvider<RbacAuthorizer>
{
    public override RbacAuthorizer CreateExtension(ExtendedActorSystem system) => new(Node.NodeGraph.Get(system));
}

/// <summary>
/// Kubernetes' RBAC escalation prevention: nobody grants, through a Role or a binding, what they do not hold
/// themselves — unless they may `escalate` (roles) or `bind` (bindings) that role, or are in system:masters.
/// </summary>
public static class EscalationCheck
{
    private const string Group = "rbac.authorization.k8s.io";

    /// <summary>A Role (ns set) or ClusterRole (ns "") written by <paramref name="user"/> with these rules.</summary>
    public static async Task RoleAsync(RbacAuthorizer authorizer, UserInfo user, string resource, string ns, string name, IReadOnlyList<PolicyRule> rules, TimeSpan wait, CancellationToken ct)
    {
        if (user.InGroup(UserInfo.MastersGroup)) return;
        if (await authorizer.AuthorizeAsync(AuthorizationAttributes.ForResource(user, "escalate", Group, resource, null, ns, name), wait, ct)) return;
        Confirm(authorizer, user, resource, ns, name, rules);
    }

    /// <summary>A RoleBinding (ns set) or ClusterRoleBinding (ns "") to roleRef, written by <paramref name="user"/>.</summary>
    public static async Task BindingAsync(RbacAuthorizer authorizer, UserInfo user, string resource, string ns, string name, string roleKind, string roleName, TimeSpan wait, CancellationToken ct)
    {
        if (user.InGroup(UserInfo.MastersGroup)) return;
        var roleResource = roleKind == "Role" ? "roles" : "clusterroles";
        if (await authorizer.AuthorizeAsync(AuthorizationAttributes.ForResource(user, "bind", Group, roleResource, null, ns, roleName), wait, ct)) return;
        var policy = authorizer.Policy;
        var rules = roleKind == "Role" ? policy.RulesOfRole(ns, roleName) : policy.RulesOfClusterRole(roleName);
        Confirm(authorizer, user, resource, ns, name, rules);
    }

    private static void Confirm(RbacAuthorizer authorizer, UserInfo user, string resource, string ns, string name, IReadOnlyList<PolicyRule> rules)
    {
        var held = authorizer.Policy.RulesFor(user, ns);
        var missing = rules.SelectMany(r => r.Atoms()).Where(atom => !held.Any(h => h.Covers(atom))).ToList();
        if (missing.Count == 0) return;
        var groups = string.Join(" ", user.Groups.Select(g => $"\"{g}\""));
        var listed = string.Join("\n", missing.Select(Describe));
        throw new ApiException(403, "Forbidden",
            $"{resource}.{Group} \"{name}\" is forbidden: user \"{user.Name}\" (groups=[{groups}]) is attempting to grant RBAC permissions not currently held:\n{listed}",
            new System.Text.Json.Nodes.JsonObject { ["name"] = name, ["group"] = Group, ["kind"] = resource });
    }

    private static string Describe(PolicyRule atom)
    {
        static string Q(IEnumerable<string> s) => string.Join(" ", s.Select(x => $"\"{x}\""));
        return atom.NonResourceUrls.Count > 0
            ? $"{{NonResourceURLs:[{Q(atom.NonResourceUrls)}], Verbs:[{Q(atom.Verbs)}]}}"
            : $"{{APIGroups:[{Q(atom.ApiGroups)}], Resources:[{Q(atom.Resources)}]{(atom.ResourceNames.Count > 0 ? $", ResourceNames:[{Q(atom.ResourceNames)}]" : "")}, Verbs:[{Q(atom.Verbs)}]}}";
    }
}
