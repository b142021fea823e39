using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer.Admission;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.Security;
using AkkaKube.Actors.Security.Node;
using AkkaKube.Actors.Security.Rbac;

namespace AkkaKube.Tests.Security;

/// <summary>
/// The Node authorizer and NodeRestriction, table-driven: what node-a may do to its own objects, to what its pods
/// reference, and to node-b's, decided over a graph of two pods (one per node), as kube-apiserver decides it.
/// </summary>
public sealed class NodeAuthorizerTests
{
    private static JsonObject Pod(string ns, string name, string node, JsonObject spec)
    {
        spec["nodeName"] = node;
        return new JsonObject { ["metadata"] = new JsonObject { ["namespace"] = ns, ["name"] = name }, ["spec"] = spec };
    }

    private static NodeGraph Graph()
    {
        var graph = new NodeGraph();
        graph.ResetPods(
        [
            Pod("team", "web", "node-a", JsonNode.Parse("""
                {"serviceAccountName":"web-sa","imagePullSecrets":[{"name":"pull"}],
                 "containers":[{"name":"c","envFrom":[{"configMapRef":{"name":"env-cm"}}],
                                "env":[{"name":"P","valueFrom":{"secretKeyRef":{"name":"env-secret","key":"k"}}}]}],
                 "volumes":[{"name":"s","secret":{"secretName":"vol-secret"}},{"name":"d","persistentVolumeClaim":{"claimName":"data"}},
                            {"name":"p","projected":{"sources":[{"configMap":{"name":"proj-cm"}}]}}]}
                """)!.AsObject()),
            Pod("team", "db", "node-b", JsonNode.Parse("""
                {"containers":[{"name":"c"}],"volumes":[{"name":"s","secret":{"secretName":"db-secret"}},{"name":"d","persistentVolumeClaim":{"claimName":"db-data"}}]}
                """)!.AsObject()),
            // not scheduled yet: references nothing any node may read
            new JsonObject { ["metadata"] = new JsonObject { ["namespace"] = "team", ["name"] = "pending" }, ["spec"] = JsonNode.Parse("""{"volumes":[{"name":"s","secret":{"secretName":"pending-secret"}}]}""") },
        ]);
        graph.ResetClaims(
        [
            new JsonObject { ["metadata"] = new JsonObject { ["namespace"] = "team", ["name"] = "data" }, ["spec"] = new JsonObject { ["volumeName"] = "pv-data" } },
            new JsonObject { ["metadata"] = new JsonObject { ["namespace"] = "team", ["name"] = "db-data" }, ["spec"] = new JsonObject { ["volumeName"] = "pv-db" } },
        ]);
        return graph;
    }

    private static readonly UserInfo NodeA = UserInfo.Node("node-a");

    public static TheoryData<string, string, string, string, string, bool, string?> Cases => new()
    {
        // verb, group, resource(/subresource), namespace, name → allowed, reason when not
        { "get", "", "secrets", "team", "env-secret", true, null },
        { "get", "", "secrets", "team", "vol-secret", true, null },
        { "get", "", "secrets", "team", "pull", true, null },
        { "watch", "", "secrets", "team", "vol-secret", true, null },
        { "get", "", "secrets", "team", "db-secret", false, "no relationship found between node 'node-a' and this object" },
        { "get", "", "secrets", "team", "pending-secret", false, "no relationship found between node 'node-a' and this object" },
        { "get", "", "secrets", "other", "env-secret", false, "no relationship found between node 'node-a' and this object" },
        { "list", "", "secrets", "team", "", false, "No Object name found" },
        { "update", "", "secrets", "team", "env-secret", false, "can only read resources of this type" },
        { "get", "", "configmaps", "team", "env-cm", true, null },
        { "get", "", "configmaps", "team", "proj-cm", true, null },
        { "get", "", "configmaps", "team", "kube-root-ca.crt", false, "no relationship found between node 'node-a' and this object" },
        { "get", "", "persistentvolumeclaims", "team", "data", true, null },
        { "get", "", "persistentvolumeclaims", "team", "db-data", false, "no relationship found between node 'node-a' and this object" },
        { "patch", "", "persistentvolumeclaims/status", "team", "data", true, null },
        { "get", "", "persistentvolumes", "", "pv-data", true, null },
        { "get", "", "persistentvolumes", "", "pv-db", false, "no relationship found between node 'node-a' and this object" },
        { "list", "", "persistentvolumes", "", "", false, "can only get individual resources of this type" },
        { "create", "", "serviceaccounts/token", "team", "web-sa", true, null },
        { "create", "", "serviceaccounts/token", "team", "default", false, "no relationship found between node 'node-a' and this object" },
        { "get", "", "serviceaccounts", "team", "web-sa", false, "can only create tokens for individual service accounts" },
        { "update", "coordination.k8s.io", "leases", "kube-node-lease", "node-a", true, null },
        { "create", "coordination.k8s.io", "leases", "kube-node-lease", "", true, null },
        { "get", "coordination.k8s.io", "leases", "kube-node-lease", "node-b", false, "can only access node lease with the same name as the requesting node" },
        { "get", "coordination.k8s.io", "leases", "kube-system", "kube-scheduler", false, "can only access leases in the kube-node-lease namespace" },
        { "list", "coordination.k8s.io", "leases", "kube-node-lease", "", false, "can only get, create, update, patch, or delete a node lease" },
        // the static system:node rules: Nodes and pods (NodeRestriction narrows the writes), services, events
        { "patch", "", "nodes/status", "", "node-a", true, null },
        { "patch", "", "nodes/status", "", "node-b", true, null },
        { "get", "", "nodes", "", "node-b", true, null },
        { "delete", "", "nodes", "", "node-a", false, null },
        // pods: its own by name; list and watch only through the field selector spec.nodeName=node-a (AuthorizeNodeWithSelectors)
        { "get", "", "pods", "team", "web", true, null },
        { "get", "", "pods", "team", "db", false, "no relationship found between node 'node-a' and this object" },
        { "get", "", "pods", "team", "pending", false, "no relationship found between node 'node-a' and this object" },
        { "watch", "", "pods", "", "", false, "can only watch pods with spec.nodeName field selector" },
        { "list", "", "pods", "team", "", false, "can only list pods with spec.nodeName field selector" },
        { "create", "", "pods", "team", "", true, null },
        { "patch", "", "pods/status", "team", "web", true, null },
        { "update", "", "pods", "team", "web", false, null },
        { "create", "", "pods/binding", "team", "web", false, null },
        { "list", "", "services", "", "", true, null },
        { "create", "", "events", "team", "", true, null },
        { "create", "", "namespaces", "", "", false, null },
        { "list", "apps", "deployments", "", "", false, null },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Node_a_is_authorized_for_its_own_objects_and_what_its_pods_reference(string verb, string group, string resource, string ns, string name, bool allowed, string? reason)
    {
        var parts = resource.Split('/');
        var attributes = AuthorizationAttributes.ForResource(NodeA, verb, group, parts[0], parts.Length > 1 ? parts[1] : null, ns, name);
        var decision = NodeAuthorizer.Authorize(attributes, Graph());
        Assert.Equal((allowed, reason), (decision.Allowed, decision.Reason));
    }

    [Theory]
    [InlineData("watch", "spec.nodeName=node-a", true)]
    [InlineData("list", "spec.nodeName==node-a", true)]
    [InlineData("list", "metadata.namespace=team,spec.nodeName=node-a", true)]
    [InlineData("list", "spec.nodeName=node-b", false)]
    [InlineData("list", "spec.nodeName!=node-b", false)]
    [InlineData("watch", "spec.nodeName=node-a-1", false)]
    [InlineData("list", "status.phase=Running", false)]
    [InlineData("list", "spec.nodeName=node-a=x", false)]
    [InlineData("get", "spec.nodeName=node-a", false)]
    public void A_node_lists_and_watches_pods_only_through_its_own_node_name_field_selector(string verb, string selector, bool allowed)
    {
        var attributes = AuthorizationAttributes.ForResource(NodeA, verb, "", "pods", null, "", verb == "get" ? "db" : "", selector);
        Assert.Equal(allowed, NodeAuthorizer.Authorize(attributes, Graph()).Allowed);
    }

    [Fact]
    public void Users_that_are_not_nodes_are_left_to_RBAC()
    {
        var graph = Graph();
        foreach (var user in new[] { new UserInfo("system:node:node-a", ["system:authenticated"]), new UserInfo("node-a", [UserInfo.NodesGroup]), ComponentIdentities.KubeScheduler })
            Assert.Equal(NodeAuthorizer.Decision.NoOpinion, NodeAuthorizer.Authorize(AuthorizationAttributes.ForResource(user, "get", "", "secrets", null, "team", "env-secret"), graph));
    }

    [Fact]
    public void The_graph_follows_pods_as_they_are_bound_changed_and_deleted()
    {
        var graph = Graph();
        var moved = Pod("team", "db", "node-a", JsonNode.Parse("""{"volumes":[{"name":"s","secret":{"secretName":"db-secret"}}]}""")!.AsObject());
        graph.SetPod(moved);
        Assert.True(graph.HasPath("node-a", NodeGraph.Kind.Secret, "team", "db-secret"));
        Assert.False(graph.HasPath("node-b", NodeGraph.Kind.Secret, "team", "db-secret"));
        Assert.False(graph.HasPathToVolume("node-b", "pv-db"));
        graph.RemovePod(moved);
        Assert.False(graph.HasPath("node-a", NodeGraph.Kind.Secret, "team", "db-secret"));
        // a secret two pods of one node use stays readable until the last of them goes
        var web2 = Pod("team", "web2", "node-a", JsonNode.Parse("""{"volumes":[{"name":"s","secret":{"secretName":"vol-secret"}}]}""")!.AsObject());
        graph.SetPod(web2);
        graph.RemovePod(Pod("team", "web", "node-a", []));
        Assert.True(graph.HasPath("node-a", NodeGraph.Kind.Secret, "team", "vol-secret"));
        Assert.False(graph.HasPath("node-a", NodeGraph.Kind.Secret, "team", "env-secret"));
    }

    [Fact]
    public async Task A_path_that_appears_while_the_request_waits_allows_it_and_a_missing_one_is_refused_after_the_grace()
    {
        var graph = Graph();
        var attributes = AuthorizationAttributes.ForResource(NodeA, "get", "", "secrets", null, "team", "late-secret");
        var waiting = NodeAuthorizer.AuthorizeAsync(attributes, graph, TimeSpan.FromSeconds(30), default);
        graph.SetPod(Pod("team", "late", "node-a", JsonNode.Parse("""{"volumes":[{"name":"s","secret":{"secretName":"late-secret"}}]}""")!.AsObject()));
        Assert.True((await waiting).Allowed);
        var refused = await NodeAuthorizer.AuthorizeAsync(attributes with { Name = "never" }, graph, TimeSpan.FromMilliseconds(50), default);
        Assert.Equal("no relationship found between node 'node-a' and this object", refused.Reason);
    }

    private static JsonObject Obj(string json) => JsonNode.Parse(json)!.AsObject();

    public static TheoryData<string, string, string?> RestrictedWrites => new()
    {
        // operation, object (JSON), NodeRestriction's refusal for node-a (null: admitted)
        { "create-node", """{"metadata":{"name":"node-a"}}""", null },
        { "create-node", """{"metadata":{"name":"node-b"}}""", "nodes \"node-b\" is forbidden: node \"node-a\" is not allowed to modify node \"node-b\"" },
        { "update-node", """{"metadata":{"name":"node-b"}}""", "nodes \"node-b\" is forbidden: node \"node-a\" is not allowed to modify node \"node-b\"" },
        { "delete-node", """{"metadata":{"name":"node-b"}}""", "nodes \"node-b\" is forbidden: node \"node-a\" is not allowed to modify node \"node-b\"" },
        { "update-pod-status", """{"metadata":{"name":"web"},"spec":{"nodeName":"node-a"}}""", null },
        { "update-pod-status", """{"metadata":{"name":"db"},"spec":{"nodeName":"node-b"}}""", "pods \"db\" is forbidden: node \"node-a\" can only update pod status for pods with spec.nodeName set to itself" },
        { "delete-pod", """{"metadata":{"name":"db"},"spec":{"nodeName":"node-b"}}""", "pods \"db\" is forbidden: node \"node-a\" can only delete pods with spec.nodeName set to itself" },
        { "delete-pod", """{"metadata":{"name":"web"},"spec":{"nodeName":"node-a"}}""", null },
        { "create-pod", """{"metadata":{"name":"m","annotations":{"kubernetes.io/config.mirror":"x"}},"spec":{"nodeName":"node-a"}}""", null },
        { "create-pod", """{"metadata":{"name":"m"},"spec":{"nodeName":"node-a"}}""", "pods \"m\" is forbidden: pod does not have \"kubernetes.io/config.mirror\" annotation, node \"node-a\" can only create mirror pods" },
        { "create-pod", """{"metadata":{"name":"m","annotations":{"kubernetes.io/config.mirror":"x"}},"spec":{"nodeName":"node-b"}}""", "pods \"m\" is forbidden: node \"node-a\" can only create pods with spec.nodeName set to itself" },
        { "create-pod", """{"metadata":{"name":"m","annotations":{"kubernetes.io/config.mirror":"x"}},"spec":{"nodeName":"node-a","volumes":[{"name":"s","secret":{"secretName":"x"}}]}}""", "pods \"m\" is forbidden: node \"node-a\" can not create pods that reference secrets" },
        { "create-lease", """{"metadata":{"name":"node-b"}}""", "leases.coordination.k8s.io \"node-b\" is forbidden: can only access node lease with the same name as the requesting node" },
        { "create-node", """{"metadata":{"name":"node-a","labels":{"kubernetes.io/hostname":"node-a","topology.kubernetes.io/zone":"z","node.kubernetes.io/instance-type":"t","x.kubelet.kubernetes.io/y":"1","node-role.kubernetes.io/worker":"","team":"a","example.com/x":"1"}}}""", null },
        { "create-node", """{"metadata":{"name":"node-a","labels":{"node-restriction.kubernetes.io/pci":"yes","kubernetes.io/role":"master","a.k8s.io/b":"c","team":"a"}}}""",
          "nodes \"node-a\" is forbidden: node \"node-a\" is not allowed to set the following labels: a.k8s.io/b, kubernetes.io/role, node-restriction.kubernetes.io/pci" },
    };

    [Theory]
    [MemberData(nameof(RestrictedWrites))]
    public void NodeRestriction_admits_only_writes_to_the_nodes_own_objects(string operation, string json, string? refusal)
    {
        var obj = Obj(json);
        Action admit = operation switch
        {
            "create-node" => () => NodeRestriction.AdmitCreate(NodeA, ApiResource.Nodes, obj),
            "update-node" => () => NodeRestriction.AdmitUpdate(NodeA, ApiResource.Nodes, "status", obj, obj),
            "delete-node" => () => NodeRestriction.AdmitDelete(NodeA, ApiResource.Nodes, obj),
            "update-pod-status" => () => NodeRestriction.AdmitUpdate(NodeA, ApiResource.Pods, "status", obj, obj),
            "delete-pod" => () => NodeRestriction.AdmitDelete(NodeA, ApiResource.Pods, obj),
            "create-pod" => () => NodeRestriction.AdmitCreate(NodeA, ApiResource.Pods, obj),
            _ => () => NodeRestriction.AdmitCreate(NodeA, ApiResource.Leases, obj),
        };
        if (refusal is null)
        {
            admit();
            return;
        }
        var e = Assert.Throws<ApiException>(admit);
        Assert.Equal((403, "Forbidden", refusal), (e.Code, e.Reason, e.Message));
        // other users are not restricted by it
        NodeRestriction.AdmitDelete(ComponentIdentities.KubeScheduler, ApiResource.Pods, obj);
    }

    [Theory]
    [InlineData("""{"labels":{"team":"b","node-restriction.kubernetes.io/ssd":"true"}}""", null, null)]
    [InlineData("""{"labels":{"team":"a","node-restriction.kubernetes.io/ssd":"true","node-restriction.kubernetes.io/pci":"yes"}}""", null, "node \"node-a\" is not allowed to modify labels: node-restriction.kubernetes.io/pci")]
    [InlineData("""{"labels":{}}""", null, "node \"node-a\" is not allowed to modify labels: node-restriction.kubernetes.io/ssd")]
    [InlineData("""{"labels":{"team":"a","node-restriction.kubernetes.io/ssd":"true"}}""", """[]""", "node \"node-a\" is not allowed to modify taints")]
    [InlineData("""{"labels":{"team":"a","node-restriction.kubernetes.io/ssd":"true"}}""", """[{"key":"k","effect":"NoSchedule"},{"key":"x","effect":"NoExecute"}]""", "node \"node-a\" is not allowed to modify taints")]
    public void A_kubelet_updating_its_Node_keeps_its_taints_and_restricted_labels(string metadata, string? taints, string? refusal)
    {
        var old = Obj("""{"metadata":{"name":"node-a","labels":{"team":"a","node-restriction.kubernetes.io/ssd":"true"}},"spec":{"taints":[{"key":"k","effect":"NoSchedule"}]}}""");
        var next = (JsonObject)old.DeepClone();
        foreach (var (k, v) in Obj(metadata)) next["metadata"]![k] = v?.DeepClone();
        if (taints is not null) next["spec"]!["taints"] = JsonNode.Parse(taints);
        void Admit() => NodeRestriction.AdmitUpdate(NodeA, ApiResource.Nodes, null, old, next);
        if (refusal is null)
        {
            Admit();
            return;
        }
        Assert.Equal("nodes \"node-a\" is forbidden: " + refusal, Assert.Throws<ApiException>(Admit).Message);
        // other users (the node lifecycle controller taints Nodes) are not restricted by it
        NodeRestriction.AdmitUpdate(ComponentIdentities.KubeControllerManager, ApiResource.Nodes, null, old, next);
    }

    [Fact]
    public void Every_controller_has_a_ServiceAccount_and_a_bootstrap_role_bound_to_it()
    {
        foreach (var controller in AkkaKube.Actors.Controllers.ControllerNames.All)
        {
            var account = BootstrapPolicy.ControllerServiceAccounts[controller];
            var role = BootstrapPolicy.ClusterRoles.Single(r => r.Name == BootstrapPolicy.ControllerRolePrefix + account);
            var binding = BootstrapPolicy.ClusterRoleBindings.Single(b => b.Name == role.Name);
            Assert.Equal(new RbacSubject("ServiceAccount", account, "kube-system"), Assert.Single(binding.Subjects));
        }
    }
}
