using AkkaKube.Actors.Security.Rbac;

namespace AkkaKube.Actors.Security.Node;

/// <summary>
/// kube-apiserver's Node authorizer (<c>--authorization-mode=Node,RBAC</c>): decides for kubelets (user
/// system:node:NAME in group system:nodes) before RBAC. Secrets, configmaps, PersistentVolumeClaims, PersistentVolumes
/// and ServiceAccount tokens only when the <see cref="NodeGraph"/> has a path from the node to the object (a pod bound
/// to it references it); pods: get of a pod bound to the node, list and watch only with the field selector
/// spec.nodeName=NAME (Kubernetes 1.32's AuthorizeNodeWithSelectors, on by default); Leases only the node's own in kube-node-lease; everything else by the static
/// <see cref="BootstrapPolicy.NodeRules"/>. Like Kubernetes it never denies outright: a request it does not allow goes
/// on to RBAC with its reason, which the 403 then carries.
/// </summary>
public static class NodeAuthorizer
{
    public const string NodeUserPrefix = "system:node:";
    public const string LeaseNamespace = "kube-node-lease";

    /// <summary>Allowed, or not allowed by this authorizer (RBAC decides next) with the reason, if any.</summary>
    public readonly record struct Decision(bool Allowed, string? Reason)
    {
        public static readonly Decision Allow = new(true, null);
        public static readonly Decision NoOpinion = new(false, null);
        public static Decision Because(string reason) => new(false, reason);
    }

    /// <summary>The node a user is (system:node:NAME in system:nodes), or null for every other user.</summary>
    public static string? NodeNameOf(UserInfo user) =>
        user.InGroup(UserInfo.NodesGroup) && user.Name.StartsWith(NodeUserPrefix, StringComparison.Ordinal) ? user.Name[NodeUserPrefix.Length..] : null;

    /// <summary>Whether <paramref name="a"/> needs the graph (the caller waits for its first sync before asking).</summary>
    public static bool NeedsGraph(AuthorizationAttributes a) =>
        a.IsResourceRequest && NodeNameOf(a.User) is { Length: > 0 } && a.Group.Length == 0 &&
        (a.Resource is "secrets" or "configmaps" or "persistentvolumeclaims" or "persistentvolumes" or "serviceaccounts" ||
         a is { Resource: "pods", Subresource: "", Verb: "get" });

    /// <summary>
    /// How long a kubelet's request for an object its pod references may wait for this apiserver's graph to learn of the
    /// pod: the kubelet and the graph watch the same pods, and the kubelet may hear of a new pod first.
    /// </summary>
    public static readonly TimeSpan GraphGrace = TimeSpan.FromSeconds(2);

    /// <summary>
    /// <see cref="Authorize"/>, except that a missing path is looked for again as the graph changes, up to
    /// <paramref name="grace"/>: a real denial takes that long, a kubelet ahead of the graph is not refused.
    /// </summary>
    public static async Task<Decision> AuthorizeAsync(AuthorizationAttributes a, NodeGraph graph, TimeSpan grace, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + grace;
        while (true)
        {
            var changed = graph.Changed;
            var decision = Authorize(a, graph);
            if (decision.Allowed || decision.Reason?.StartsWith("no relationship", StringComparison.Ordinal) != true) return decision;
            var remaining = deadline - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero) return decision;
            try
            {
                await changed.WaitAsync(remaining, ct);
            }
            catch (TimeoutException)
            {
                return Authorize(a, graph);
            }
        }
    }

    public static Decision Authorize(AuthorizationAttributes a, NodeGraph graph)
    {
        if (NodeNameOf(a.User) is not { } node) return Decision.NoOpinion;
        if (node.Length == 0) return Decision.Because($"unknown node for user \"{a.User.Name}\"");
        if (a.IsResourceRequest)
        {
            switch (a.Group, a.Resource)
            {
                case ("", "secrets"):
                    return ReadNamespaced(node, NodeGraph.Kind.Secret, a, graph);
                case ("", "configmaps"):
                    return ReadNamespaced(node, NodeGraph.Kind.ConfigMap, a, graph);
                case ("", "persistentvolumeclaims"):
                    return a.Subresource == "status" ? StatusUpdate(node, a, graph) : Get(node, a, () => graph.HasPath(node, NodeGraph.Kind.PersistentVolumeClaim, a.Namespace, a.Name));
                case ("", "persistentvolumes"):
                    return Get(node, a, () => graph.HasPathToVolume(node, a.Name));
                case ("", "serviceaccounts"):
                    return CreateToken(node, a, graph);
                case ("coordination.k8s.io", "leases"):
                    return Lease(node, a);
                case ("", "pods") when a.Subresource.Length == 0 && a.Verb is "get" or "list" or "watch":
                    return ReadPods(node, a, graph);
            }
        }
        return BootstrapPolicy.NodeRules.Any(r => r.Allows(a)) ? Decision.Allow : Decision.NoOpinion;
    }

    private static Decision NoRelationship(string node) => Decision.Because($"no relationship found between node '{node}' and this object");

    /// <summary>Secrets and configmaps: get (list and watch of one named object) of what a pod of the node references.</summary>
    private static Decision ReadNamespaced(string node, NodeGraph.Kind kind, AuthorizationAttributes a, NodeGraph graph)
    {
        if (a.Verb is not ("get" or "list" or "watch")) return Decision.Because("can only read resources of this type");
        if (a.Subresource.Length > 0) return Decision.Because("cannot read subresource");
        if (a.Namespace.Length == 0) return Decision.Because("can only read namespaced object of this type");
        if (a.Name.Length == 0) return Decision.Because("No Object name found");
        return graph.HasPath(node, kind, a.Namespace, a.Name) ? Decision.Allow : NoRelationship(node);
    }

    private static Decision Get(string node, AuthorizationAttributes a, Func<bool> hasPath)
    {
        if (a.Verb != "get") return Decision.Because("can only get individual resources of this type");
        if (a.Subresource.Length > 0) return Decision.Because("cannot get subresource");
        if (a.Name.Length == 0) return Decision.Because("No Object name found");
        return hasPath() ? Decision.Allow : NoRelationship(node);
    }

    private static Decision StatusUpdate(string node, AuthorizationAttributes a, NodeGraph graph)
    {
        if (a.Verb is not ("update" or "patch")) return Decision.Because("can only get or update persistentvolumeclaim status");
        if (a.Name.Length == 0) return Decision.Because("No Object name found");
        return graph.HasPath(node, NodeGraph.Kind.PersistentVolumeClaim, a.Namespace, a.Name) ? Decision.Allow : NoRelationship(node);
    }

    private static Decision CreateToken(string node, AuthorizationAttributes a, NodeGraph graph)
    {
        if (a.Verb != "create" || a.Name.Length == 0) return Decision.Because("can only create tokens for individual service accounts");
        if (a.Subresource != "token") return Decision.Because("can only create token subresource of serviceaccount");
        return graph.HasPath(node, NodeGraph.Kind.ServiceAccount, a.Namespace, a.Name) ? Decision.Allow : NoRelationship(node);
    }

    /// <summary>A pod bound to the node by name; list and watch only of the node's pods, by their field selector.</summary>
    private static Decision ReadPods(string node, AuthorizationAttributes a, NodeGraph graph)
    {
        if (a.Verb == "get")
            return a.Name.Length == 0 ? Decision.Because("No Object name found") : graph.HasPod(node, a.Namespace, a.Name) ? Decision.Allow : NoRelationship(node);
        return SelectsNode(a.FieldSelector, node) ? Decision.Allow : Decision.Because($"can only {a.Verb} pods with spec.nodeName field selector");
    }

    /// <summary>Whether every object the selector matches has spec.nodeName == node (a selector that does not parse limits nothing).</summary>
    private static bool SelectsNode(string fieldSelector, string node)
    {
        if (fieldSelector.Length == 0) return false;
        try
        {
            return Machinery.FieldSelector.Parse(fieldSelector).Requirements.Any(r => r is { Path: "spec.nodeName", Equal: true } && r.Value == node);
        }
        catch (Machinery.SelectorException)
        {
            return false;
        }
    }

    /// <summary>The node's own Lease in kube-node-lease (a create's name is checked by NodeRestriction, the object not being known here).</summary>
    private static Decision Lease(string node, AuthorizationAttributes a)
    {
        if (a.Verb is not ("get" or "create" or "update" or "patch" or "delete"))
            return Decision.Because("can only get, create, update, patch, or delete a node lease");
        if (a.Namespace != LeaseNamespace) return Decision.Because($"can only access leases in the {LeaseNamespace} namespace");
        if (a.Verb != "create" && a.Name != node) return Decision.Because("can only access node lease with the same name as the requesting node");
        return Decision.Allow;
    }
}
