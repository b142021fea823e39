using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using AkkaKube.Actors.Security;
using AkkaKube.Actors.Services;
using AkkaKube.Tests.ApiServer;
using AkkaKube.Tests.Infrastructure;
using AkkaKube.Tests.Kubectl;

namespace AkkaKube.Tests.Security;

/// <summary>
/// The apiserver as `up` starts it: HTTPS with a certificate from the cluster CA, client certificates and 401s, the
/// kubeconfig it writes used as it is by kubectl, the C# client and the official JavaScript client.
/// </summary>
public sealed class ApiSecuritySpecs(ApiNode api) : IClassFixture<ApiNode>
{
    private InProcessNode Node => api.Node;

    private HttpClient Client(X509Certificate2? clientCertificate = null, string? token = null)
    {
        var credentials = Node.Credentials;
        var handler = credentials.CreateHandler();
        handler.SslOptions.ClientCertificates = clientCertificate is null ? null : [clientCertificate];
        var http = new HttpClient(handler) { BaseAddress = credentials.Server, Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null) http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    [Fact]
    public async Task Without_credentials_the_api_is_401_and_only_health_and_version_are_open()
    {
        using var anonymous = Client();
        var response = await anonymous.GetAsync("/api/v1/namespaces");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var status = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(("Status", "Failure", "Unauthorized", 401),
            (status["kind"]!.GetValue<string>(), status["status"]!.GetValue<string>(), status["reason"]!.GetValue<string>(), status["code"]!.GetValue<int>()));
        foreach (var open in new[] { "/healthz", "/livez", "/readyz", "/version" })
            Assert.Equal(HttpStatusCode.OK, await OpenPathStatusAsync(anonymous, open));
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/apis")).StatusCode);
        using var guessed = Client(token: "guessed");
        Assert.Equal(HttpStatusCode.Unauthorized, (await guessed.GetAsync("/api/v1/namespaces")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await guessed.GetAsync("/healthz")).StatusCode); // anonymous, yet a bad token is refused
    }

    /// <summary>
    /// An open path's status for an anonymous caller: never 401 or 403; a health path answers 500 (Kubernetes'
    /// code for a failed check) while the node is still getting ready, so it is asked again until OK or a deadline.
    /// </summary>
    private static async Task<HttpStatusCode> OpenPathStatusAsync(HttpClient anonymous, string path)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var status = (await anonymous.GetAsync(path)).StatusCode;
            Assert.NotEqual(HttpStatusCode.Unauthorized, status);
            Assert.NotEqual(HttpStatusCode.Forbidden, status);
            if (status == HttpStatusCode.OK || DateTime.UtcNow > deadline) return status;
            await Task.Delay(250);
        }
    }

    [Fact]
    public async Task A_client_certificate_of_the_cluster_ca_authenticates_and_one_of_another_ca_is_401()
    {
        using var ca = ClusterCa.LoadOrCreate(Node.Options.DataDirectory);
        using var jane = ca.Issue("jane", ["dev"], CertificateUse.Client, validity: TimeSpan.FromHours(1));
        using var ours = Client(jane);
        // authenticated (not 401) yet bound to nothing: RBAC answers 403; discovery is every authenticated user's
        Assert.Equal(HttpStatusCode.Forbidden, (await ours.GetAsync("/api/v1/namespaces")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await ours.GetAsync("/apis")).StatusCode);
        using var admin = Node.NewHttpClient();

        using var other = new TempDir();
        using var foreign = ClusterCa.LoadOrCreate(other.Path);
        using var forged = foreign.Issue(UserInfo.AdminName, [UserInfo.MastersGroup], CertificateUse.Client, validity: TimeSpan.FromHours(1));
        using var theirs = Client(forged);
        Assert.Equal(HttpStatusCode.Unauthorized, (await theirs.GetAsync("/api/v1/namespaces")).StatusCode);
        var write = await theirs.PostAsync("/api/v1/namespaces", new StringContent("""{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"forged"}}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, write.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/api/v1/namespaces/forged")).StatusCode);
    }

    [Fact]
    public async Task The_serving_certificate_covers_every_address_a_client_may_use()
    {
        var serviceIp = ServiceNetworkSettings.Create(Node.System.Settings.Config).KubernetesServiceIp;
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, Node.Options.ApiPort);
        X509Certificate2? served = null;
        using var tls = new SslStream(tcp.GetStream());
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            {
                served = X509CertificateLoader.LoadCertificate(certificate!.GetRawCertData());
                return true;
            },
        });
        var san = served!.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        var dns = san.EnumerateDnsNames().ToHashSet();
        var ips = san.EnumerateIPAddresses().ToHashSet();
        Assert.Superset(new HashSet<string> { "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local" }, dns);
        Assert.Superset(new HashSet<IPAddress> { IPAddress.Loopback, serviceIp, Node.Options.NodeIp }, ips);
        using var ca = ClusterCa.LoadOrCreate(Node.Options.DataDirectory);
        Assert.Equal(ca.Certificate.Subject, served.Issuer);
    }

    [Fact]
    public void The_kubeconfig_carries_the_ca_and_an_admin_client_certificate_and_only_its_owner_reads_it()
    {
        Assert.Equal<UnixFileMode?>(PrivateFiles.FileMode, PrivateFiles.ModeOf(Node.KubeconfigPath));
        var config = k8s.KubernetesClientConfiguration.BuildConfigFromConfigFile(Node.KubeconfigPath);
        Assert.StartsWith("https://127.0.0.1:", config.Host);
        Assert.False(config.SkipTlsVerify);
        Assert.NotEmpty(config.SslCaCerts!);
        var credentials = Node.Credentials;
        Assert.Equal("akkakube-admin", credentials.ClientCertificate!.GetNameInfo(X509NameType.SimpleName, false));
        Assert.Contains("O=system:masters", credentials.ClientCertificate.Subject);
    }

    [SkippableFact]
    public async Task Kubectl_uses_the_kubeconfig_as_written()
    {
        Skip.If(KubectlRunner.KubectlPath is null, "kubectl is not on PATH");
        var result = await ProcessRunner.RunAsync(KubectlRunner.KubectlPath!, ["--kubeconfig", Node.KubeconfigPath, "get", "namespaces", "-o", "name"], TimeSpan.FromMinutes(1),
            env: new Dictionary<string, string> { ["HOME"] = Node.Options.DataDirectory });
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Contains("namespace/kube-system", result.Stdout);
        var whoami = await ProcessRunner.RunAsync(KubectlRunner.KubectlPath!, ["--kubeconfig", Node.KubeconfigPath, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"], TimeSpan.FromMinutes(1),
            env: new Dictionary<string, string> { ["HOME"] = Node.Options.DataDirectory });
        Assert.True(whoami.ExitCode == 0, whoami.Output);
        Assert.Equal("akkakube-admin", whoami.Stdout.Trim());
    }

    [SkippableFact]
    public async Task The_official_javascript_client_lists_namespaces_with_the_kubeconfig_as_written()
    {
        var npm = Which("npm");
        var nodeJs = Which("node");
        Skip.If(npm is null || nodeJs is null, "node and npm are not on PATH (the JavaScript client check needs them)");
        using var work = new TempDir();
        // client-node 2.x needs Node.js 22 (its HTTP stack uses zstd); 1.x is the official client for older Node.js
        var version = await ProcessRunner.RunAsync(nodeJs!, ["--version"], TimeSpan.FromSeconds(30));
        var major = int.TryParse(version.Stdout.Trim().TrimStart('v').Split('.')[0], out var m) ? m : 0;
        var package = major >= 22 ? "@kubernetes/client-node@2" : "@kubernetes/client-node@1";
        var install = await ProcessRunner.RunAsync(npm!, ["install", "--no-audit", "--no-fund", "--loglevel=error", package], TimeSpan.FromMinutes(4), work.Path);
        Skip.If(install.ExitCode != 0 && install.Output.Contains("ENOTFOUND", StringComparison.Ordinal), $"the npm registry is not reachable: {install.Stderr.Split('\n')[0]}");
        Assert.True(install.ExitCode == 0, install.Output);
        var script = Path.Combine(work.Path, "list.mjs");
        await File.WriteAllTextAsync(script, """
            import * as k8s from '@kubernetes/client-node';
            const kc = new k8s.KubeConfig();
            kc.loadFromFile(process.argv[2]);
            const api = kc.makeApiClient(k8s.CoreV1Api);
            const list = await api.listNamespace();
            for (const ns of list.items) console.log(ns.metadata.name);
            """);
        var run = await ProcessRunner.RunAsync(nodeJs!, [script, Node.KubeconfigPath], TimeSpan.FromMinutes(1), work.Path);
        Assert.True(run.ExitCode == 0, $"{package} on Node.js {version.Stdout.Trim()}: {run.Output}");
        Assert.Contains("kube-system", run.Stdout.Split('\n', StringSplitOptions.TrimEntries));
    }

    private static string? Which(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
        .Select(p => Path.Combine(p, name)).FirstOrDefault(File.Exists);
}
