using System.Net;
using System.Text.Json.Nodes;
using AkkaKube.Tests.Infrastructure;
using AkkaKube.Tests.Kubectl;

namespace AkkaKube.Tests.Security;

/// <summary>An all-in-one node as `up` runs it (TLS, RBAC, every controller, the process runtime, kube-proxy).</summary>
public sealed class ProjectionNode : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    public InProcessNode Node { get; } = new();
    public KubectlRunner Kubectl { get; private set; } = null!;
    public HttpClient Admin { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Node.InitializeAsync();
        Admin = Node.NewHttpClient();
        // A pod's KUBERNETES_SERVICE_* variables come from the `kubernetes` Service, which the apiserver creates at start.
        await RbacNode.Until(async () => await RbacNode.GetJson(Admin, "/api/v1/namespaces/default/services/kubernetes") is not null, "the kubernetes Service");
        Kubectl = new KubectlRunner(_dir.Path);
        Kubectl.UseKubeconfig(Node.KubeconfigPath);
    }

    public async Task DisposeAsync()
    {
        Admin.Dispose();
        await Node.DisposeAsync();
        _dir.Dispose();
    }
}

/// <summary>
/// ServiceAccount tokens projected into pods, for real: admission gives a pod its account and the kube-api-access
/// volume, the kubelet writes a pod-bound token, the cluster CA and the namespace, and a process pod calls the API
/// through the `kubernetes` Service with curl, verifying TLS against ca.crt — allowed what its Role allows, 403 beyond;
/// the token dies with the pod.
/// </summary>
public sealed class ServiceAccountProjectionSpecs(ProjectionNode fixture) : IClassFixture<ProjectionNode>
{
    private HttpClient Admin => fixture.Admin;

    private async Task Post(string path, string json)
    {
        var r = await Admin.PostAsync(path, RbacNode.Json(json));
        Assert.True(r.StatusCode is HttpStatusCode.Created or HttpStatusCode.Conflict, await r.Content.ReadAsStringAsync());
    }

    private async Task Namespace(string name)
    {
        await Post("/api/v1/namespaces", new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = name } }.ToJsonString());
        await RbacNode.Until(async () => await RbacNode.GetJson(Admin, $"/api/v1/namespaces/{name}/serviceaccounts/default") is not null, $"default ServiceAccount in {name}");
    }

    private static string Pod(string name, string script, string? account = null, bool? automount = null, string restart = "Never") => new JsonObject
    {
        ["apiVersion"] = "v1", ["kind"] = "Pod",
        ["metadata"] = new JsonObject { ["name"] = name },
        ["spec"] = new JsonObject
        {
            ["restartPolicy"] = restart,
            ["terminationGracePeriodSeconds"] = 1,
            ["serviceAccountName"] = account,
            ["automountServiceAccountToken"] = automount,
            ["containers"] = new JsonArray(new JsonObject { ["name"] = "main", ["image"] = "busybox", ["command"] = new JsonArray("sh", "-c", script) }),
        },
    }.ToJsonString();

    private async Task<JsonObject> WaitForPhase(string ns, string name, params string[] phases)
    {
        JsonObject? pod = null;
        await RbacNode.Until(async () =>
        {
            pod = (await RbacNode.GetJson(Admin, $"/api/v1/namespaces/{ns}/pods/{name}"))?.AsObject();
            return pod?["status"]?["phase"]?.GetValue<string>() is { } p && phases.Contains(p);
        }, $"pod {ns}/{name} {string.Join("|", phases)}", 90);
        return pod!;
    }

    private Task<string> Log(string ns, string name) => Admin.GetStringAsync($"/api/v1/namespaces/{ns}/pods/{name}/log");

    private HttpClient Bearer(string token) => RbacNode.BearerClient(fixture.Node, token);

    private const string CurlThree = """
        D="$AKKAKUBE_SERVICEACCOUNT_DIR"; NS=$(cat "$D/namespace"); T=$(cat "$D/token")
        API="https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT"
        for path in /api/v1/namespaces/$NS/pods /api/v1/namespaces/sa-other/pods /api/v1/namespaces/$NS/secrets; do
          echo "@@ $path"; curl -sS --cacert "$D/ca.crt" -H "Authorization: Bearer $T" -w '\nHTTP %{http_code}\n' "$API$path"
        done
        """;

    [SkippableFact]
    public async Task A_pod_lists_pods_through_the_kubernetes_service_with_its_projected_token_and_is_refused_beyond_its_role()
    {
        Skip.If(!File.Exists("/usr/bin/curl") && !File.Exists("/bin/curl"), "curl is not installed (apt-get install curl)");
        await Namespace("sa-team");
        await Namespace("sa-other");
        await Post("/api/v1/namespaces/sa-team/serviceaccounts", """{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"lister"}}""");
        await Post("/apis/rbac.authorization.k8s.io/v1/namespaces/sa-team/roles",
            """{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"pod-lister"},"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["list"]}]}""");
        await Post("/apis/rbac.authorization.k8s.io/v1/namespaces/sa-team/rolebindings",
            """{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"lister-lists"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"pod-lister"},"subjects":[{"kind":"ServiceAccount","name":"lister","namespace":"sa-team"}]}""");
        await Post("/api/v1/namespaces/sa-team/pods", Pod("neighbour", "sleep 3600", restart: "Always"));

        await Post("/api/v1/namespaces/sa-team/pods", Pod("reader", CurlThree, account: "lister"));
        var pod = await WaitForPhase("sa-team", "reader", "Succeeded", "Failed");
        var log = await Log("sa-team", "reader");
        // per request: "@@ PATH", the body (one line of JSON), "HTTP CODE"
        var lines = log.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var answers = lines.Select((l, i) => (l, i)).Where(x => x.l.StartsWith("@@ ", StringComparison.Ordinal))
            .Select(x => (Code: lines[x.i + 2], Body: JsonNode.Parse(lines[x.i + 1])!)).ToList();
        Assert.True(answers.Count == 3, log);

        // its own namespace: 200 and a real PodList with real names
        Assert.True(answers[0].Code == "HTTP 200", log);
        Assert.Equal("PodList", answers[0].Body["kind"]!.GetValue<string>());
        var names = answers[0].Body["items"]!.AsArray().Select(i => i!["metadata"]!["name"]!.GetValue<string>()).ToList();
        Assert.Contains("reader", names);
        Assert.Contains("neighbour", names);
        // another namespace and another resource: Kubernetes' 403
        Assert.Equal("HTTP 403", answers[1].Code);
        Assert.Equal("pods is forbidden: User \"system:serviceaccount:sa-team:lister\" cannot list resource \"pods\" in API group \"\" in the namespace \"sa-other\"",
            answers[1].Body["message"]!.GetValue<string>());
        Assert.Equal("HTTP 403", answers[2].Code);
        Assert.Equal("secrets is forbidden: User \"system:serviceaccount:sa-team:lister\" cannot list resource \"secrets\" in API group \"\" in the namespace \"sa-team\"",
            answers[2].Body["message"]!.GetValue<string>());

        // what admission wrote: the account and Kubernetes' kube-api-access volume mounted read-only at the standard path
        Assert.Equal("lister", pod["spec"]!["serviceAccountName"]!.GetValue<string>());
        Assert.Equal("lister", pod["spec"]!["serviceAccount"]!.GetValue<string>());
        var volume = pod["spec"]!["volumes"]!.AsArray().Single()!;
        Assert.StartsWith("kube-api-access-", volume["name"]!.GetValue<string>());
        Assert.Equal(3607, volume["projected"]!["sources"]![0]!["serviceAccountToken"]!["expirationSeconds"]!.GetValue<long>());
        var mount = pod["spec"]!["containers"]![0]!["volumeMounts"]!.AsArray().Single()!;
        Assert.Equal("/var/run/secrets/kubernetes.io/serviceaccount", mount["mountPath"]!.GetValue<string>());
        Assert.True(mount["readOnly"]!.GetValue<bool>());
    }

    [Fact]
    public async Task The_projected_files_are_private_where_they_must_be_and_the_token_dies_with_its_pod()
    {
        await Namespace("sa-life");
        await Post("/api/v1/namespaces/sa-life/pods", Pod("holder", "echo \"dir=$AKKAKUBE_SERVICEACCOUNT_DIR\"; sleep 3600", restart: "Always"));
        var pod = await WaitForPhase("sa-life", "holder", "Running");
        var uid = pod["metadata"]!["uid"]!.GetValue<string>();
        string dir = "";
        await RbacNode.Until(async () => (dir = (await Log("sa-life", "holder")).Trim()).StartsWith("dir=/", StringComparison.Ordinal), "the pod printed its directory");
        dir = dir["dir=".Length..];
        Assert.StartsWith(Path.Combine(fixture.Node.Options.DataDirectory, "pods", uid), dir);

        Assert.Equal("sa-life", await File.ReadAllTextAsync(Path.Combine(dir, "namespace")));
        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(fixture.Node.Options.DataDirectory, "pki", "ca.crt")), await File.ReadAllTextAsync(Path.Combine(dir, "ca.crt")));
        Assert.Equal((UnixFileMode?)(UnixFileMode.UserRead | UnixFileMode.UserWrite), Actors.Security.PrivateFiles.ModeOf(Path.Combine(dir, "token")));
        Assert.Equal((UnixFileMode?)(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead), Actors.Security.PrivateFiles.ModeOf(Path.Combine(dir, "ca.crt")));
        Assert.Empty(Directory.GetFiles(dir, "*.tmp-*"));

        // the token is the pod's: default account, bound to this pod
        using var holder = Bearer(await File.ReadAllTextAsync(Path.Combine(dir, "token")));
        using var whoami = await holder.PostAsync("/apis/authentication.k8s.io/v1/selfsubjectreviews", RbacNode.Json("""{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}"""));
        Assert.Equal(HttpStatusCode.Created, whoami.StatusCode);
        Assert.Equal("system:serviceaccount:sa-life:default", JsonNode.Parse(await whoami.Content.ReadAsStringAsync())!["status"]!["userInfo"]!["username"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.OK, (await Admin.DeleteAsync("/api/v1/namespaces/sa-life/pods/holder")).StatusCode);
        await RbacNode.Until(async () => (await holder.PostAsync("/apis/authentication.k8s.io/v1/selfsubjectreviews",
            RbacNode.Json("""{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}"""))).StatusCode == HttpStatusCode.Unauthorized, "the token of the deleted pod refused");
        await RbacNode.Until(() => Task.FromResult(!Directory.Exists(dir)), "the pod's token directory removed");
    }

    [Fact]
    public async Task Automount_false_on_the_pod_or_its_account_mounts_nothing_and_a_missing_account_is_refused()
    {
        await Namespace("sa-off");
        await Post("/api/v1/namespaces/sa-off/serviceaccounts", """{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"quiet"},"automountServiceAccountToken":false}""");
        await Post("/api/v1/namespaces/sa-off/pods", Pod("by-pod", "echo \"dir=[$AKKAKUBE_SERVICEACCOUNT_DIR]\"", automount: false));
        await Post("/api/v1/namespaces/sa-off/pods", Pod("by-account", "echo \"dir=[$AKKAKUBE_SERVICEACCOUNT_DIR]\"", account: "quiet"));
        foreach (var name in new[] { "by-pod", "by-account" })
        {
            var pod = await WaitForPhase("sa-off", name, "Succeeded");
            Assert.Null(pod["spec"]!["volumes"]);
            Assert.Null(pod["spec"]!["containers"]![0]!["volumeMounts"]);
            Assert.Equal("dir=[]", (await Log("sa-off", name)).Trim());
            Assert.False(Directory.Exists(Path.Combine(fixture.Node.Options.DataDirectory, "pods", pod["metadata"]!["uid"]!.GetValue<string>(), "volumes", "kubernetes.io~projected")));
        }

        using var refused = await Admin.PostAsync("/api/v1/namespaces/sa-off/pods", RbacNode.Json(Pod("ghost", "true", account: "nobody")));
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("pods \"ghost\" is forbidden: error looking up service account sa-off/nobody: serviceaccount \"nobody\" not found",
            JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Every_namespace_gets_the_root_ca_config_map()
    {
        await Namespace("sa-ca");
        await RbacNode.Until(async () => await RbacNode.GetJson(Admin, "/api/v1/namespaces/sa-ca/configmaps/kube-root-ca.crt") is not null, "kube-root-ca.crt published");
        var cm = await RbacNode.GetJson(Admin, "/api/v1/namespaces/sa-ca/configmaps/kube-root-ca.crt");
        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(fixture.Node.Options.DataDirectory, "pki", "ca.crt")), cm!["data"]!["ca.crt"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await Admin.DeleteAsync("/api/v1/namespaces/sa-ca/configmaps/kube-root-ca.crt")).StatusCode);
        await RbacNode.Until(async () => await RbacNode.GetJson(Admin, "/api/v1/namespaces/sa-ca/configmaps/kube-root-ca.crt") is not null, "kube-root-ca.crt re-created");
    }
}
