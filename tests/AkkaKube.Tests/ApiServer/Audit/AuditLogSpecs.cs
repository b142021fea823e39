using System.Text.Json.Nodes;
using AkkaKube.Tests.Infrastructure;
using AkkaKube.Tests.Kubectl;

namespace AkkaKube.Tests.ApiServer.Audit;

/// <summary>An apiserver with --audit-policy-file and --audit-log-path, driven by the real kubectl.</summary>
public sealed class AuditNode : IAsyncLifetime
{
    public const string Policy = """
        apiVersion: audit.k8s.io/v1
        kind: Policy
        omitStages: [RequestReceived]
        rules:
          - level: None
            nonResourceURLs: ["/healthz*", "/version", "/openapi*", "/api", "/apis*"]
          - level: Metadata
            resources: [{group: "", resources: ["secrets"]}]
          - level: RequestResponse
            resources: [{group: "", resources: ["namespaces"]}]
          - level: Request
            verbs: ["create", "update", "patch", "delete"]
          - level: Metadata
        """;

    private readonly TempDir _dir = new();
    public InProcessNode Node { get; private set; } = null!;
    public KubectlRunner Kubectl { get; private set; } = null!;
    public string LogPath => Path.Combine(_dir.Path, "audit", "audit.log");

    public async Task InitializeAsync()
    {
        var policy = Path.Combine(_dir.Path, "policy.yaml");
        await File.WriteAllTextAsync(policy, Policy);
        var quiet = Path.Combine(_dir.Path, "quiet.conf");
        await File.WriteAllTextAsync(quiet, ApiOnlyNode.QuietHocon);
        Node = new InProcessNode { Configure = o => o with { Worker = false, ConfigFiles = [quiet], AuditPolicyFile = policy, AuditLogPath = LogPath } };
        await Node.InitializeAsync();
        Kubectl = new KubectlRunner(_dir.Path);
        Kubectl.UseKubeconfig(Node.KubeconfigPath);
    }

    public async Task DisposeAsync()
    {
        await Node.DisposeAsync();
        _dir.Dispose();
    }
}

/// <summary>
/// The audit log of a real apiserver for kubectl's requests: one audit.k8s.io/v1 Event per line at the level the policy
/// gives, with who, what, from where and the answer; secrets at Metadata never carry their data.
/// </summary>
public sealed class AuditLogSpecs(AuditNode fixture) : IClassFixture<AuditNode>
{
    private async Task<KubectlRunner.Result> Ok(string args, string? stdin = null)
    {
        var r = await fixture.Kubectl.Run(args, stdin);
        Assert.True(r.Exit == 0, $"kubectl {args}: {r.Out}{r.Err}");
        return r;
    }

    /// <summary>The events written so far (the writer is asynchronous: polled until <paramref name="until"/> holds).</summary>
    private async Task<List<JsonObject>> Events(Func<List<JsonObject>, bool> until, string what)
    {
        List<JsonObject> events = [];
        try
        {
        await Security.RbacNode.Until(async () =>
        {
            if (!File.Exists(fixture.LogPath)) return false;
            string text;
            await using (var stream = new FileStream(fixture.LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
            using (var reader = new StreamReader(stream))
                text = await reader.ReadToEndAsync();
            events = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
            return until(events);
        }, what, 30);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; the log holds {events.Count} events: {string.Join("\n", events.Select(x => x.ToJsonString()))}");
        }
        return events;
    }

    private static string S(JsonNode? n) => n?.GetValue<string>() ?? "";

    private static Func<JsonObject, bool> Is(string verb, string resource, string? name = null, string? ns = null) => e =>
        S(e["verb"]) == verb && S(e["objectRef"]?["resource"]) == resource && (name is null || S(e["objectRef"]?["name"]) == name) &&
        (ns is null || S(e["objectRef"]?["namespace"]) == ns);

    [SkippableFact]
    public async Task Kubectl_requests_are_logged_at_the_policy_levels_and_secret_data_never_reaches_the_log()
    {
        Skip.If(KubectlRunner.KubectlPath is null, "kubectl is not on PATH");
        await Ok("create namespace audited");
        await Ok("create secret generic db -n audited --from-literal=password=hunter2-not-in-the-log");
        await Ok("create configmap settings -n audited --from-literal=mode=fast");
        await Ok("get configmaps -n audited");

        var events = await Events(es => es.Any(Is("list", "configmaps", ns: "audited")) && es.Any(Is("create", "secrets", "db")) && es.Any(Is("create", "namespaces")),
            "events of the namespace, the secret and the list");

        // the list: Metadata, who (the admin certificate), from where, with what, and the answer
        var list = events.Single(Is("list", "configmaps", ns: "audited"));
        Assert.Equal("audit.k8s.io/v1", S(list["apiVersion"]));
        Assert.Equal("Event", S(list["kind"]));
        Assert.Equal("Metadata", S(list["level"]));
        Assert.Equal("ResponseComplete", S(list["stage"]));
        Assert.True(Guid.TryParse(S(list["auditID"]), out _));
        Assert.StartsWith("/api/v1/namespaces/audited/configmaps", S(list["requestURI"]));
        Assert.Equal("akkakube-admin", S(list["user"]!["username"]));
        Assert.Contains("system:masters", list["user"]!["groups"]!.AsArray().Select(S));
        Assert.Equal("127.0.0.1", S(list["sourceIPs"]![0]));
        Assert.StartsWith("kubectl", S(list["userAgent"]));
        Assert.Equal(200, list["responseStatus"]!["code"]!.GetValue<int>());
        Assert.Equal("v1", S(list["objectRef"]!["apiVersion"]));
        Assert.Equal("allow", S(list["annotations"]!["authorization.k8s.io/decision"]));
        Assert.True(DateTime.Parse(S(list["stageTimestamp"]), null, System.Globalization.DateTimeStyles.RoundtripKind) >=
                    DateTime.Parse(S(list["requestReceivedTimestamp"]), null, System.Globalization.DateTimeStyles.RoundtripKind));
        Assert.Null(list["requestObject"]);

        // the secret: Metadata whatever kubectl sent; its data is nowhere in the file
        var secret = events.Single(Is("create", "secrets", "db"));
        Assert.Equal("Metadata", S(secret["level"]));
        Assert.Equal(201, secret["responseStatus"]!["code"]!.GetValue<int>());
        Assert.Null(secret["requestObject"]);
        var raw = await File.ReadAllTextAsync(fixture.LogPath);
        Assert.DoesNotContain("hunter2-not-in-the-log", raw);
        Assert.DoesNotContain(Convert.ToBase64String("hunter2-not-in-the-log"u8.ToArray()), raw);

        // a configmap write is a Request: the object kubectl sent, no response
        var configMap = events.Single(Is("create", "configmaps", "settings"));
        Assert.Equal("Request", S(configMap["level"]));
        Assert.Equal("fast", S(configMap["requestObject"]!["data"]!["mode"]));
        Assert.Null(configMap["responseObject"]);

        // namespaces at RequestResponse: the stored object comes back in the event
        var ns = events.Single(Is("create", "namespaces"));
        Assert.Equal("RequestResponse", S(ns["level"]));
        Assert.Equal("audited", S(ns["responseObject"]!["metadata"]!["name"]));
        Assert.False(string.IsNullOrEmpty(S(ns["responseObject"]!["metadata"]!["uid"])));

        // /version and discovery are at None: never logged
        Assert.DoesNotContain(events, e => S(e["requestURI"]) is "/version" or "/api" || S(e["requestURI"]).StartsWith("/apis", StringComparison.Ordinal) && e["objectRef"] is null);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, (UnixFileMode)Actors.Security.PrivateFiles.ModeOf(fixture.LogPath)!);
    }

    [Fact]
    public async Task A_refused_impersonated_request_is_logged_with_both_users_and_the_403()
    {
        using var admin = fixture.Node.NewHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/namespaces/kube-system/pods");
        request.Headers.Add("Impersonate-User", "jane");
        request.Headers.Add("Impersonate-Group", "auditors");
        using var response = await admin.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, response.StatusCode);
        var events = await Events(es => es.Any(e => Is("list", "pods", ns: "kube-system")(e) && S(e["impersonatedUser"]?["username"]) == "jane"), "the refused list");
        var refused = events.Last(e => Is("list", "pods", ns: "kube-system")(e) && S(e["impersonatedUser"]?["username"]) == "jane");
        Assert.Equal("akkakube-admin", S(refused["user"]!["username"]));
        Assert.Contains("auditors", refused["impersonatedUser"]!["groups"]!.AsArray().Select(S));
        Assert.Equal(403, refused["responseStatus"]!["code"]!.GetValue<int>());
        Assert.Equal("forbid", S(refused["annotations"]!["authorization.k8s.io/decision"]));
    }
}
