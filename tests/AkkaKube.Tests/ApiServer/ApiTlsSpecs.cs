using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using AkkaKube.Tests.Infrastructure;
using AkkaKube.Tests.Kubectl;

namespace AkkaKube.Tests.ApiServer;

/// <summary>An apiserver-only node serving HTTPS with a self-signed certificate and a static token file.</summary>
public sealed class SecureApiNode : IAsyncLifetime
{
    public const string Token = "s3cret-token";
    private readonly TempDir _dir = new();
    public InProcessNode Node { get; }
    public KubectlRunner Kubectl { get; }
    public string Dir => _dir.Path;

    public SecureApiNode()
    {
        var cert = Path.Combine(_dir.Path, "apiserver.crt");
        var key = Path.Combine(_dir.Path, "apiserver.key");
        var tokens = Path.Combine(_dir.Path, "tokens.csv");
        WriteSelfSigned(cert, key);
        File.WriteAllText(tokens, $"# token,user,uid,groups\n{Token},alice,1,\"system:masters,dev\"\n");
        var quiet = Path.Combine(_dir.Path, "quiet.conf");
        File.WriteAllText(quiet, ApiOnlyNode.QuietHocon);
        Node = new InProcessNode
        {
            Configure = o => o with { Worker = false, ConfigFiles = [quiet], ApiTlsCertFile = cert, ApiTlsKeyFile = key, ApiTokenAuthFile = tokens },
        };
        Kubectl = new KubectlRunner(_dir.Path);
    }

    private static void WriteSelfSigned(string certFile, string keyFile)
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=akkakube-apiserver", ecdsa, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllText(certFile, certificate.ExportCertificatePem());
        File.WriteAllText(keyFile, ecdsa.ExportPkcs8PrivateKeyPem());
    }

    public Uri Https => new($"https://127.0.0.1:{Node.Options.ApiPort}");

    /// <summary>A client that trusts the test's self-signed certificate (and nothing else of note: loopback only).</summary>
    public HttpClient Client(string? token)
    {
        var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true };
        var http = new HttpClient(handler) { BaseAddress = Https, Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    public async Task InitializeAsync()
    {
        await Node.InitializeAsync();
        using var http = Client(Token);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await http.GetAsync("/api/v1/namespaces/default")).StatusCode != HttpStatusCode.OK)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the secure apiserver did not serve namespaces within 60 s");
            await Task.Delay(200);
        }
    }

    public async Task DisposeAsync()
    {
        await Node.DisposeAsync();
        _dir.Dispose();
    }
}

/// <summary>TLS and token authentication: what lets the apiserver leave loopback.</summary>
public sealed class ApiTlsSpecs(SecureApiNode node) : IClassFixture<SecureApiNode>
{
    [Fact]
    public async Task Without_a_token_the_api_answers_401_Unauthorized_but_health_and_version_stay_readable()
    {
        using var anonymous = node.Client(null);
        var response = await anonymous.GetAsync("/api/v1/namespaces");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var status = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(("Status", "Unauthorized", 401), (status["kind"]!.GetValue<string>(), status["reason"]!.GetValue<string>(), status["code"]!.GetValue<int>()));
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/version")).StatusCode);

        using var wrong = node.Client("not-the-token");
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync("/api/v1/namespaces")).StatusCode);
        var write = await wrong.PostAsync("/api/v1/namespaces", new StringContent("""{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"sneaky"}}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, write.StatusCode);
        using var good = node.Client(SecureApiNode.Token);
        Assert.Equal(HttpStatusCode.NotFound, (await good.GetAsync("/api/v1/namespaces/sneaky")).StatusCode);
    }

    [Fact]
    public async Task With_the_token_the_api_serves_over_https()
    {
        using var http = node.Client(SecureApiNode.Token);
        var created = await http.PostAsync("/api/v1/namespaces/default/configmaps",
            new StringContent("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"over-tls"},"data":{"k":"v"}}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var read = JsonNode.Parse(await http.GetStringAsync("/api/v1/namespaces/default/configmaps/over-tls"))!;
        Assert.Equal("v", read["data"]!["k"]!.GetValue<string>());
    }

    [SkippableFact]
    public async Task Kubectl_works_with_the_token_and_is_refused_without_it()
    {
        Skip.If(KubectlRunner.KubectlPath is null, "kubectl is not on PATH");
        await File.WriteAllTextAsync(Path.Combine(node.Dir, "kubeconfig"), $"""
            apiVersion: v1
            kind: Config
            clusters:
            - cluster: {"{"}server: "{node.Https.ToString().TrimEnd('/')}", insecure-skip-tls-verify: true{"}"}
              name: secure
            users:
            - name: alice
              user: {"{"}token: "{SecureApiNode.Token}"{"}"}
            - name: mallory
              user: {"{"}token: "guessed"{"}"}
            contexts:
            - context: {"{"}cluster: secure, user: alice{"}"}
              name: alice
            - context: {"{"}cluster: secure, user: mallory{"}"}
              name: mallory
            current-context: alice
            """);
        var ok = await node.Kubectl.Run("get namespaces");
        Assert.True(ok.Exit == 0, ok.Err);
        Assert.Contains("kube-system", ok.Out);
        var refused = await node.Kubectl.Run("--context mallory get namespaces");
        Assert.NotEqual(0, refused.Exit);
        Assert.Contains("Unauthorized", refused.Err);
    }
}
