using System.Text.Json.Nodes;
using System.Diagnostics;
using AkkaKube.Tests.ApiServer;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Kubectl;

/// <summary>The real kubectl with its own kubeconfig (a copy of the one `up` writes: CA and admin client certificate) and cache dir.</summary>
public sealed class KubectlRunner(string dir)
{
    public static string? KubectlPath { get; } =
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
        .Select(p => Path.Combine(p, "kubectl")).FirstOrDefault(File.Exists);

    public record Result(int Exit, string Out, string Err);

    /// <summary>kubectl uses <paramref name="kubeconfig"/> exactly as written (a copy in the runner's directory).</summary>
    public void UseKubeconfig(string kubeconfig) => File.Copy(kubeconfig, Path.Combine(dir, "kubeconfig"), overwrite: true);

    /// <summary>Runs kubectl with the kubeconfig; killed by PID after the timeout.</summary>
    public async Task<Result> Run(string args, string? stdin = null, int timeoutSeconds = 60)
    {
        var psi = new ProcessStartInfo(KubectlPath!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("--cache-dir");
        psi.ArgumentList.Add(Path.Combine(dir, "cache"));
        // words split on spaces; a 'single-quoted' word may hold spaces and double quotes
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(args, @"'([^']*)'|(\S+)"))
            psi.ArgumentList.Add(m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value);
        psi.Environment["KUBECONFIG"] = Path.Combine(dir, "kubeconfig");
        psi.Environment["HOME"] = dir;
        using var p = Process.Start(psi)!;
        try
        {
            if (stdin is not null)
            {
                await p.StandardInput.WriteAsync(stdin);
                p.StandardInput.Close();
            }
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
            await p.WaitForExitAsync(cts.Token);
            return new Result(p.ExitCode, await stdout, await stderr);
        }
        finally
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
        }
    }
}

/// <summary>An in-process node plus a kubeconfig and cache dir for the real kubectl.</summary>
public sealed class KubectlNode : IAsyncLifetime
{
    public ApiNode Api { get; } = new();
    private readonly TempDir _dir = new();
    private readonly KubectlRunner _kubectl;
    public string Dir => _dir.Path;
    public static string? KubectlPath => KubectlRunner.KubectlPath;

    public KubectlNode() => _kubectl = new KubectlRunner(_dir.Path);

    public async Task InitializeAsync()
    {
        if (KubectlPath is null) return;
        await Api.InitializeAsync();
        _kubectl.UseKubeconfig(Api.Node.KubeconfigPath);
    }

    public async Task DisposeAsync()
    {
        if (KubectlPath is not null) await Api.DisposeAsync();
        _dir.Dispose();
    }

    public Task<KubectlRunner.Result> Run(string args, string? stdin = null, int timeoutSeconds = 60) => _kubectl.Run(args, stdin, timeoutSeconds);
}

/// <summary>The real kubectl (v1.32 dispatcher on PATH) against an in-process node. Skipped with a reason when kubectl is absent.</summary>
public class KubectlSpecs(KubectlNode k) : IClassFixture<KubectlNode>
{
    private const string Deployment = """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: NAME
        spec:
          replicas: 1
          selector:
            matchLabels: {app: NAME}
          template:
            metadata:
              labels: {app: NAME}
            spec:
              containers:
              - name: c
                image: busybox:1.36
                command: ["sleep", "3600"]
        """;

    private static string Named(string name) => Deployment.Replace("NAME", name);

    private void SkipWithoutKubectl() => Skip.If(KubectlNode.KubectlPath is null, "kubectl is not on PATH");

    [SkippableFact]
    public async Task Get_namespaces_prints_a_table()
    {
        SkipWithoutKubectl();
        var r = await k.Run("get namespaces");
        Assert.Equal(0, r.Exit);
        Assert.Matches(@"NAME\s+STATUS\s+AGE", r.Out);
        Assert.Matches(@"kube-system\s+Active", r.Out);
    }

    [SkippableFact]
    public async Task Apply_creates_then_is_unchanged_then_configured()
    {
        SkipWithoutKubectl();
        var first = await k.Run("apply -f -", Named("applied"));
        Assert.True(first.Exit == 0, first.Err);
        Assert.Contains("deployment.apps/applied created", first.Out);
        var second = await k.Run("apply -f -", Named("applied"));
        Assert.Contains("deployment.apps/applied unchanged", second.Out);
        var third = await k.Run("apply -f -", Named("applied").Replace("replicas: 1", "replicas: 2"));
        Assert.Contains("deployment.apps/applied configured", third.Out);
        var replicas = await k.Run("get deployment applied -o jsonpath={.spec.replicas}");
        Assert.Equal("2", replicas.Out);
    }

    [SkippableFact]
    public async Task Apply_server_side_creates_and_updates()
    {
        SkipWithoutKubectl();
        var first = await k.Run("apply --server-side -f -", Named("ssa"));
        Assert.True(first.Exit == 0, first.Err);
        Assert.Contains("deployment.apps/ssa serverside-applied", first.Out);
        var second = await k.Run("apply --server-side -f -", Named("ssa").Replace("replicas: 1", "replicas: 3"));
        Assert.True(second.Exit == 0, second.Err);
        Assert.Equal("3", (await k.Run("get deployment ssa -o jsonpath={.spec.replicas}")).Out);
    }

    [SkippableFact]
    public async Task Create_deployment_with_protobuf_then_scale_patch_and_delete()
    {
        SkipWithoutKubectl();
        var create = await k.Run("create deployment proto --image=nginx:1.27 --replicas=2");
        Assert.True(create.Exit == 0, create.Err);
        Assert.Contains("deployment.apps/proto created", create.Out);
        Assert.Equal("", create.Err);
        var get = await k.Run("get deployment proto -o wide");
        // Columns as kubectl users know them; how many replicas are up already depends on the controllers.
        Assert.Matches(@"proto\s+\d/2\s+\d+\s+\d+\s+\S+\s+nginx\s+nginx:1.27\s+app=proto", get.Out);
        Assert.Contains("deployment.apps/proto scaled", (await k.Run("scale deployment proto --replicas=4")).Out);
        Assert.Equal("4", (await k.Run("get deployment proto -o jsonpath={.spec.replicas}")).Out);
        var patch = await k.Run("""patch deployment proto -p '{"metadata":{"labels":{"patched":"yes"}}}'""");
        Assert.True(patch.Exit == 0, patch.Err);
        Assert.Equal("yes", (await k.Run("get deployment proto -o jsonpath={.metadata.labels.patched}")).Out);
        var delete = await k.Run("delete deployment proto");
        Assert.True(delete.Exit == 0, delete.Err);
        Assert.Contains("deployment.apps \"proto\" deleted", delete.Out);
        Assert.Contains("NotFound", (await k.Run("get deployment proto")).Err);
    }

    [SkippableFact]
    public async Task Create_namespace_configmap_secret_and_service()
    {
        SkipWithoutKubectl();
        Assert.Equal(0, (await k.Run("create namespace team-a")).Exit);
        Assert.Equal(0, (await k.Run("-n team-a create configmap cm --from-literal=a=b")).Exit);
        Assert.Equal(0, (await k.Run("-n team-a create secret generic s --from-literal=x=y")).Exit);
        Assert.Equal(0, (await k.Run("-n team-a create service clusterip svc --tcp=80:8080")).Exit);
        var all = await k.Run("-n team-a get cm,secret,svc");
        Assert.Matches(@"configmap/cm\s+1", all.Out);
        Assert.Matches(@"secret/s\s+Opaque\s+1", all.Out);
        Assert.Matches(@"service/svc\s+ClusterIP\s+127\.128\.\d+\.\d+\s+<none>\s+80/TCP", all.Out);
    }

    [SkippableFact]
    public async Task Create_rbac_service_account_priority_class_pdb_and_ingress_with_protobuf()
    {
        SkipWithoutKubectl();
        // every `kubectl create <kind>` generator sends protobuf and does not retry a 415 as JSON
        Assert.Equal(0, (await k.Run("create namespace team-rbac")).Exit);
        string[] creates =
        [
            "-n team-rbac create serviceaccount robot",
            "-n team-rbac create role reader --verb=get,list --resource=pods,deployments.apps",
            "-n team-rbac create rolebinding robot-reads --role=reader --serviceaccount=team-rbac:robot --user=jane",
            "create clusterrole proto-agg --aggregation-rule=team=rbac",
            "create clusterrolebinding proto-crb --clusterrole=view --group=auditors",
            "create priorityclass proto-zero --value=0 --description=lowest",
            "-n team-rbac create poddisruptionbudget web --selector=app=web --min-available=50%",
            "-n team-rbac create ingress web --class=nginx --rule=shop.example/cart=cart:8080 --rule=shop.example/*=web:http,tls=shop-tls",
        ];
        foreach (var create in creates)
        {
            var r = await k.Run(create);
            Assert.True(r.Exit == 0 && r.Err.Length == 0, $"{create}: {r.Err}");
        }
        async Task<JsonNode> Get(string what) => JsonNode.Parse((await k.Run($"get {what} -o json")).Out)!;
        var role = await Get("-n team-rbac role reader");
        Assert.Equal("""[{"apiGroups":[""],"resources":["pods"],"verbs":["get","list"]},{"apiGroups":["apps"],"resources":["deployments"],"verbs":["get","list"]}]""",
            role["rules"]!.ToJsonString());
        var binding = await Get("-n team-rbac rolebinding robot-reads");
        Assert.Equal("""{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"reader"}""", binding["roleRef"]!.ToJsonString());
        Assert.Equal(["User/jane", "ServiceAccount/team-rbac/robot"],
            binding["subjects"]!.AsArray().Select(x => string.Join('/', new[] { (string?)x!["kind"], (string?)x["namespace"], (string?)x["name"] }.Where(p => p is not null))));
        // the binding works: the ServiceAccount may list pods in its namespace and nothing else
        Assert.Equal("yes", (await k.Run("auth can-i list pods -n team-rbac --as=system:serviceaccount:team-rbac:robot")).Out.Trim());
        Assert.Equal("no", (await k.Run("auth can-i delete pods -n team-rbac --as=system:serviceaccount:team-rbac:robot")).Out.Trim());
        Assert.Equal("team", (await Get("clusterrole proto-agg"))["aggregationRule"]!["clusterRoleSelectors"]![0]!["matchLabels"]!.AsObject().Single().Key);
        Assert.Equal("auditors", (string?)(await Get("clusterrolebinding proto-crb"))["subjects"]![0]!["name"]);
        var priority = await Get("priorityclass proto-zero");
        Assert.Equal((0, "lowest"), ((int)priority["value"]!, (string?)priority["description"]));
        Assert.Equal("50%", (string?)(await Get("-n team-rbac pdb web"))["spec"]!["minAvailable"]);
        var ingress = (await Get("-n team-rbac ingress web"))["spec"]!;
        Assert.Equal("nginx", (string?)ingress["ingressClassName"]);
        // two rules of one host are one rule with two paths (the rule's value is inline in JSON, a message in protobuf)
        var paths = ingress["rules"]!.AsArray().Single()!["http"]!["paths"]!.AsArray().ToDictionary(p => (string)p!["backend"]!["service"]!["name"]!, p => p!);
        Assert.Equal(8080, (int)paths["cart"]["backend"]!["service"]!["port"]!["number"]!);
        Assert.Equal(("/", "Prefix", "http"), ((string?)paths["web"]["path"], (string?)paths["web"]["pathType"], (string?)paths["web"]["backend"]!["service"]!["port"]!["name"]));
        Assert.Equal("shop-tls", (string?)ingress["tls"]![0]!["secretName"]);
    }

    [SkippableFact]
    public async Task Error_messages_for_not_found_already_exists_and_invalid()
    {
        SkipWithoutKubectl();
        var missing = await k.Run("get deployment nope");
        Assert.Contains("Error from server (NotFound): deployments.apps \"nope\" not found", missing.Err);
        await k.Run("create configmap twice");
        var dup = await k.Run("create configmap twice");
        Assert.Contains("configmaps \"twice\" already exists", dup.Err);
        var invalid = await k.Run("apply -f -", Named("bad").Replace("labels: {app: bad}", "labels: {app: other}"));
        Assert.NotEqual(0, invalid.Exit);
        Assert.Contains("The Deployment \"bad\" is invalid: spec.template.metadata.labels", invalid.Err);
    }

    [SkippableFact]
    public async Task Get_watch_shows_a_created_object()
    {
        SkipWithoutKubectl();
        var watch = k.Run("get configmaps -w --request-timeout=8s", timeoutSeconds: 30);
        // the watch is running once its initial list printed; create until it shows up (bounded)
        var deadline = DateTime.UtcNow.AddSeconds(6);
        while (DateTime.UtcNow < deadline && !watch.IsCompleted)
        {
            await Task.Delay(500);
            await k.Run("create configmap watched-" + DateTime.UtcNow.Ticks);
        }
        var result = await watch;
        Assert.Contains("watched-", result.Out);
    }

    [SkippableFact]
    public async Task Api_resources_lists_every_served_kind()
    {
        SkipWithoutKubectl();
        var r = await k.Run("api-resources");
        Assert.Equal(0, r.Exit);
        foreach (var name in new[] { "pods", "deployments", "replicasets", "leases", "endpointslices", "poddisruptionbudgets", "events" })
            Assert.Contains(name, r.Out);
    }
}
