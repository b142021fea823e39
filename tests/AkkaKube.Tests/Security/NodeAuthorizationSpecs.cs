using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.Security;

namespace AkkaKube.Tests.Security;

/// <summary>
/// A kubelet's identity over HTTPS (a client certificate from the cluster CA: CN system:node:NAME, O system:nodes) as
/// kube-apiserver's Node authorizer and NodeRestriction treat it: its own Node, Lease and pods' status, the secrets its
/// pods use, and 403s in Kubernetes' words for everything of another node. The in-cluster actor path carries a
/// kubelet's identity the same way.
/// </summary>
public sealed class NodeAuthorizationSpecs(RbacNode rbac) : IClassFixture<RbacNode>
{
    private HttpClient Admin => rbac.Admin;

    private static StringContent Body(string json, string type = "application/json") => new(json, Encoding.UTF8, type);

    private static async Task<(HttpStatusCode Code, JsonNode? Body)> Send(HttpClient http, HttpMethod method, string path, string? body = null, string type = "application/json")
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : Body(body, type) };
        using var r = await http.SendAsync(request);
        var text = await r.Content.ReadAsStringAsync();
        return (r.StatusCode, text.Length > 0 && text[0] == '{' ? JsonNode.Parse(text) : null);
    }

    private async Task Create(string path, string json)
    {
        var (code, body) = await Send(Admin, HttpMethod.Post, path, json);
        Assert.True(code is HttpStatusCode.Created or HttpStatusCode.Conflict, body?.ToJsonString());
    }

    /// <summary>Two Nodes; in team-a a pod bound to node-a using secret "used", and a secret no pod uses.</summary>
    private async Task Objects(string suffix)
    {
        foreach (var node in new[] { "node-a", "node-b" })
            await Create("/api/v1/nodes", $$$"""{"apiVersion":"v1","kind":"Node","metadata":{"name":"{{{node}}}"}}""");
        foreach (var secret in new[] { "used-" + suffix, "unused-" + suffix })
            await Create("/api/v1/namespaces/team-a/secrets", $$$"""{"apiVersion":"v1","kind":"Secret","metadata":{"name":"{{{secret}}}"},"stringData":{"k":"v"}}""");
        await Create("/api/v1/namespaces/team-a/pods", $$$$"""
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-{{{{suffix}}}}"},
             "spec":{"nodeName":"node-a","containers":[{"name":"c","image":"busybox",
                     "env":[{"name":"P","valueFrom":{"secretKeyRef":{"name":"used-{{{{suffix}}}}","key":"k"}}}]}]}}
            """);
    }

    private HttpClient Kubelet(string node) => rbac.ClientFor("system:node:" + node, UserInfo.NodesGroup);

    [Fact]
    public async Task A_kubelet_patches_its_own_Node_status_and_gets_403_for_another_Node()
    {
        await Objects("nodes");
        using var kubelet = Kubelet("node-a");
        const string patch = """{"status":{"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","message":"ok","lastHeartbeatTime":"2026-12-07T00:00:00Z","lastTransitionTime":"2026-12-07T00:00:00Z"}]}}""";
        var (code, body) = await Send(kubelet, HttpMethod.Patch, "/api/v1/nodes/node-a/status", patch, "application/merge-patch+json");
        Assert.True(code == HttpStatusCode.OK, body?.ToJsonString());
        var stored = await RbacNode.GetJson(Admin, "/api/v1/nodes/node-a");
        Assert.Equal("KubeletReady", stored!["status"]!["conditions"]![0]!["reason"]!.GetValue<string>());

        (code, body) = await Send(kubelet, HttpMethod.Patch, "/api/v1/nodes/node-b/status", patch, "application/merge-patch+json");
        Assert.Equal(HttpStatusCode.Forbidden, code);
        Assert.Equal(("Forbidden", "nodes \"node-b\" is forbidden: node \"node-a\" is not allowed to modify node \"node-b\""),
            (body!["reason"]!.GetValue<string>(), body["message"]!.GetValue<string>()));
        Assert.Null((await RbacNode.GetJson(Admin, "/api/v1/nodes/node-b"))!["status"]?["conditions"]);
        // reading other Nodes stays allowed (system:node), deleting one is not
        Assert.Equal(HttpStatusCode.OK, (await kubelet.GetAsync("/api/v1/nodes/node-b")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await kubelet.DeleteAsync("/api/v1/nodes/node-b")).StatusCode);
    }

    [Fact]
    public async Task A_kubelet_reads_a_secret_its_pod_uses_and_gets_403_for_one_no_pod_of_its_uses()
    {
        await Objects("secrets");
        using var kubelet = Kubelet("node-a");
        var (code, body) = await Send(kubelet, HttpMethod.Get, "/api/v1/namespaces/team-a/secrets/used-secrets");
        Assert.True(code == HttpStatusCode.OK, body?.ToJsonString());
        Assert.Equal("used-secrets", body!["metadata"]!["name"]!.GetValue<string>());

        (code, body) = await Send(kubelet, HttpMethod.Get, "/api/v1/namespaces/team-a/secrets/unused-secrets");
        Assert.Equal(HttpStatusCode.Forbidden, code);
        Assert.Equal("secrets \"unused-secrets\" is forbidden: User \"system:node:node-a\" cannot get resource \"secrets\" in API group \"\" in the namespace \"team-a\": " +
                     "no relationship found between node 'node-a' and this object", body!["message"]!.GetValue<string>());
        // nor may it list secrets, and node-b may not read node-a's pod's secret
        Assert.Equal(HttpStatusCode.Forbidden, (await kubelet.GetAsync("/api/v1/namespaces/team-a/secrets")).StatusCode);
        using var other = Kubelet("node-b");
        Assert.Equal(HttpStatusCode.Forbidden, (await other.GetAsync("/api/v1/namespaces/team-a/secrets/used-secrets")).StatusCode);

        // once the pod is gone, so is the path
        Assert.Equal(HttpStatusCode.OK, (await Admin.DeleteAsync("/api/v1/namespaces/team-a/pods/web-secrets?gracePeriodSeconds=0")).StatusCode);
        await RbacNode.Until(async () => (await kubelet.GetAsync("/api/v1/namespaces/team-a/secrets/used-secrets")).StatusCode == HttpStatusCode.Forbidden, "the deleted pod left the graph");
    }

    [Fact]
    public async Task A_kubelet_writes_the_status_of_its_pods_and_its_Lease_only()
    {
        await Objects("status");
        using var nodeA = Kubelet("node-a");
        using var nodeB = Kubelet("node-b");
        const string status = """{"status":{"phase":"Running"}}""";
        var (code, body) = await Send(nodeA, HttpMethod.Patch, "/api/v1/namespaces/team-a/pods/web-status/status", status, "application/merge-patch+json");
        Assert.True(code == HttpStatusCode.OK, body?.ToJsonString());
        (code, body) = await Send(nodeB, HttpMethod.Patch, "/api/v1/namespaces/team-a/pods/web-status/status", status, "application/merge-patch+json");
        Assert.Equal(HttpStatusCode.Forbidden, code);
        Assert.Equal("pods \"web-status\" is forbidden: node \"node-b\" can only update pod status for pods with spec.nodeName set to itself", body!["message"]!.GetValue<string>());
        // a kubelet creates mirror pods only
        (code, body) = await Send(nodeA, HttpMethod.Post, "/api/v1/namespaces/team-a/pods",
            """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"sneaky"},"spec":{"nodeName":"node-a","containers":[{"name":"c","image":"busybox"}]}}""");
        Assert.Equal(HttpStatusCode.Forbidden, code);
        Assert.Equal("pods \"sneaky\" is forbidden: pod does not have \"kubernetes.io/config.mirror\" annotation, node \"node-a\" can only create mirror pods", body!["message"]!.GetValue<string>());

        const string lease = """{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"NAME","namespace":"kube-node-lease"},"spec":{"holderIdentity":"NAME"}}""";
        (code, body) = await Send(nodeA, HttpMethod.Post, "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", lease.Replace("NAME", "node-a"));
        Assert.True(code is HttpStatusCode.Created or HttpStatusCode.Conflict, body?.ToJsonString());
        (code, body) = await Send(nodeA, HttpMethod.Post, "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", lease.Replace("NAME", "node-b"));
        Assert.Equal(HttpStatusCode.Forbidden, code);
        Assert.Equal("leases.coordination.k8s.io \"node-b\" is forbidden: can only access node lease with the same name as the requesting node", body!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_kubelet_lists_and_watches_only_its_own_pods_and_gets_only_those()
    {
        await Objects("pods");
        using var kubelet = Kubelet("node-a");
        var (code, body) = await Send(kubelet, HttpMethod.Get, "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-a");
        Assert.True(code == HttpStatusCode.OK, body?.ToJsonString());
        Assert.Contains(body!["items"]!.AsArray(), p => p!["metadata"]!["name"]!.GetValue<string>() == "web-pods");
        Assert.All(body["items"]!.AsArray(), p => Assert.Equal("node-a", p!["spec"]!["nodeName"]!.GetValue<string>()));
        (code, body) = await Send(kubelet, HttpMethod.Get, "/api/v1/pods");
        Assert.Equal(HttpStatusCode.Forbidden, code);
        Assert.Equal("pods is forbidden: User \"system:node:node-a\" cannot list resource \"pods\" in API group \"\" at the cluster scope: " +
                     "can only list pods with spec.nodeName field selector", body!["message"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Forbidden, (await kubelet.GetAsync("/api/v1/pods?watch=true&fieldSelector=spec.nodeName%3Dnode-b")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await kubelet.GetAsync("/api/v1/namespaces/team-a/pods/web-pods")).StatusCode);
        using var other = Kubelet("node-b");
        Assert.Equal(HttpStatusCode.Forbidden, (await other.GetAsync("/api/v1/namespaces/team-a/pods/web-pods")).StatusCode);

        // the in-cluster path carries the selector too
        var api = ComponentIdentities.As(KubeApi.Get(rbac.Node.System).Api, UserInfo.Node("node-b"));
        Assert.Equal(403, (await Assert.ThrowsAsync<KubeApiException>(() => api.ListAsync(ApiResource.Pods, null))).Code);
        var mine = await api.ListAsync(ApiResource.Pods, null, new ListOptions(FieldSelector: "spec.nodeName=node-b"));
        Assert.DoesNotContain(mine.Items, p => Meta.Name(p) == "web-pods");
    }

    [Fact]
    public async Task The_in_cluster_API_carries_a_kubelets_identity_through_the_actor_path()
    {
        await Objects("actor");
        var api = ComponentIdentities.As(KubeApi.Get(rbac.Node.System).Api, UserInfo.Node("node-b"));
        var e = await Assert.ThrowsAsync<KubeApiException>(() =>
            api.PatchAsync(ApiResource.Nodes, null, "node-a", PatchType.Merge, """{"metadata":{"labels":{"x":"y"}}}"""));
        Assert.Equal((403, "nodes \"node-a\" is forbidden: node \"node-b\" is not allowed to modify node \"node-a\""), (e.Code, e.Message));
        e = await Assert.ThrowsAsync<KubeApiException>(() => api.GetAsync(ApiResource.Secrets, "team-a", "used-actor"));
        Assert.Equal(403, e.Code);
        var own = ComponentIdentities.As(KubeApi.Get(rbac.Node.System).Api, UserInfo.Node("node-a"));
        Assert.Equal("used-actor", Meta.Name(await own.GetAsync(ApiResource.Secrets, "team-a", "used-actor")));
    }

    [Fact]
    public async Task The_components_bootstrap_roles_allow_what_they_do_and_nothing_more()
    {
        async Task<bool> Allowed(string user, string[] groups, string verb, string resource, string group = "", string ns = "team-a", string? subresource = null)
        {
            var review = new JsonObject
            {
                ["apiVersion"] = "authorization.k8s.io/v1", ["kind"] = "SubjectAccessReview",
                ["spec"] = new JsonObject
                {
                    ["user"] = user, ["groups"] = new JsonArray(groups.Select(g => (JsonNode?)g).ToArray()),
                    ["resourceAttributes"] = new JsonObject { ["verb"] = verb, ["group"] = group, ["resource"] = resource, ["namespace"] = ns, ["subresource"] = subresource ?? "" },
                },
            };
            var (code, body) = await Send(Admin, HttpMethod.Post, "/apis/authorization.k8s.io/v1/subjectaccessreviews", review.ToJsonString());
            Assert.True(code == HttpStatusCode.Created, body?.ToJsonString());
            return body!["status"]!["allowed"]!.GetValue<bool>();
        }
        string[] sa = ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"];
        await RbacNode.Until(() => Allowed("system:kube-scheduler", ["system:authenticated"], "create", "pods", subresource: "binding"), "the scheduler's binding reached the authorizer");
        Assert.False(await Allowed("system:kube-scheduler", ["system:authenticated"], "create", "pods"));
        Assert.True(await Allowed("system:serviceaccount:kube-system:replicaset-controller", sa, "create", "pods"));
        Assert.False(await Allowed("system:serviceaccount:kube-system:replicaset-controller", sa, "get", "secrets"));
        Assert.True(await Allowed("system:kube-proxy", ["system:authenticated"], "watch", "endpointslices", "discovery.k8s.io"));
        Assert.False(await Allowed("system:kube-proxy", ["system:authenticated"], "list", "pods"));
        Assert.True(await Allowed("system:kube-controller-manager", ["system:authenticated"], "list", "secrets"));
        Assert.False(await Allowed("system:kube-controller-manager", ["system:authenticated"], "delete", "pods"));
    }
}
