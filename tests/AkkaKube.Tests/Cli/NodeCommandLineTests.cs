using AkkaKube.Actors.Cluster;
using AkkaKube.Host;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Cli;

/// <summary>The node's API security flags: what lets the apiserver off loopback, and one-line errors for bad files.</summary>
public sealed class NodeCommandLineTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private NodeOptions Parse(params string[] args)
    {
        var parse = NodeCommandLine.CreateRootCommand().Parse(["--node-name", "n1", "--cmd-port", "0", "--data-dir", _dir.Path, .. args]);
        Assert.Empty(parse.Errors);
        var options = NodeCommandLine.ToOptions(parse);
        NodeCommandLine.Preflight(options);
        return options;
    }

    private string File(string name, string content)
    {
        var path = Path.Combine(_dir.Path, name);
        System.IO.File.WriteAllText(path, content);
        return path;
    }

    private (string Cert, string Key) SelfSigned()
    {
        using var ecdsa = System.Security.Cryptography.ECDsa.Create();
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=test", ecdsa, System.Security.Cryptography.HashAlgorithmName.SHA256);
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(1));
        return (File("tls.crt", cert.ExportCertificatePem()), File("tls.key", ecdsa.ExportPkcs8PrivateKeyPem()));
    }

    [Theory]
    [InlineData(new string[0], "akka.tcp://akkakube@127.1.0.1:4001", false)]
    [InlineData(new[] { "--remoting-tls" }, "akka.ssl.tcp://akkakube@127.1.0.1:4001", true)]
    public void Remoting_is_tls_with_the_flag_and_seeds_take_the_transports_scheme(string[] flags, string seed, bool ssl)
    {
        var options = Parse(["--seed", "akka.tcp://akkakube@127.1.0.1:4001", .. flags]);
        var config = NodeConfig.Build(options, NodeHost.HoconDirectory);
        Assert.Equal(ssl, config.GetBoolean("akka.remote.dot-netty.tcp.enable-ssl"));
        Assert.Equal([seed], config.GetStringList("akka.cluster.seed-nodes"));
        Assert.Equal(ssl, options.RemotingTls);
    }

    [Fact]
    public void The_cluster_domain_flag_is_a_lower_case_dns_domain_or_a_one_line_error()
    {
        Assert.Equal("corp.internal", Parse("--cluster-domain", "Corp.Internal.").ClusterDomain);
        Assert.Null(Parse().ClusterDomain);
        Assert.Contains("--cluster-domain", Assert.Throws<NodeConfigException>(() => Parse("--cluster-domain", "bad_domain")).Message);
    }

    [Fact]
    public void Remoting_certificate_flags_go_together_and_bad_files_are_one_line_errors()
    {
        var (cert, _) = SelfSigned();
        Assert.Contains("go together", Assert.Throws<NodeConfigException>(() => Parse("--remoting-cert-file", cert)).Message);
        var bad = File("bad.crt", "not a pem");
        Assert.StartsWith("--remoting-ca-file", Assert.Throws<NodeConfigException>(() => Parse("--remoting-ca-file", bad)).Message);
    }

    [Fact]
    public void The_fast_failover_profile_shortens_detection_downing_and_removal_and_standard_keeps_the_safe_margins()
    {
        var standard = NodeConfig.Build(Parse(), NodeHost.HoconDirectory);
        var fast = NodeConfig.Build(Parse("--failover", "fast"), NodeHost.HoconDirectory);
        Assert.Equal(TimeSpan.FromSeconds(2), standard.GetTimeSpan("akka.cluster.failure-detector.acceptable-heartbeat-pause"));
        Assert.Equal(TimeSpan.FromSeconds(3), standard.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after"));
        Assert.Equal(TimeSpan.FromMilliseconds(1500), fast.GetTimeSpan("akka.cluster.failure-detector.acceptable-heartbeat-pause"));
        Assert.Equal(TimeSpan.FromSeconds(1), fast.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after"));
        // Both profiles hand over without a removal margin (fenced by the quorum check and the journal instead); never 0,
        // which Akka's SBR provider would turn into stable-after.
        Assert.Equal(TimeSpan.FromMilliseconds(1), standard.GetTimeSpan("akka.cluster.down-removal-margin"));
        Assert.Equal(TimeSpan.FromMilliseconds(1), fast.GetTimeSpan("akka.cluster.down-removal-margin"));
        // the profile changes margins only: the strategy and the role it counts stay those of base.conf
        Assert.Equal("keep-majority", fast.GetString("akka.cluster.split-brain-resolver.active-strategy"));
        Assert.Equal("control-plane", fast.GetString("akka.cluster.split-brain-resolver.keep-majority.role"));
        // a --config file still wins over the profile
        var mine = File("mine.conf", "akka.cluster.split-brain-resolver.stable-after = 7s");
        Assert.Equal(TimeSpan.FromSeconds(7), NodeConfig.Build(Parse("--failover", "fast", "--config", mine), NodeHost.HoconDirectory)
            .GetTimeSpan("akka.cluster.split-brain-resolver.stable-after"));
    }

    [Fact]
    public void An_unknown_failover_profile_is_a_one_line_error_naming_the_choices()
    {
        var parse = NodeCommandLine.CreateRootCommand().Parse(["--node-name", "n1", "--data-dir", _dir.Path, "--failover", "turbo"]);
        var e = Assert.Throws<NodeConfigException>(() => NodeCommandLine.ToOptions(parse));
        Assert.Equal("--failover: unknown profile 'turbo' (expected standard or fast)", e.Message);
    }

    [Fact]
    public void The_api_is_https_by_default_and_plain_http_only_with_the_insecure_flag()
    {
        Assert.True(Parse("--api-address", "10.1.2.3").ApiTls);
        Assert.True(Parse("--api-address", "10.1.2.3", "--insecure-http").InsecureHttp);
        Assert.False(Parse("--insecure-http").ApiTls);
        Assert.True(Parse("--insecure-api").InsecureHttp); // the old name stays an alias
    }

    [Fact]
    public void An_operator_certificate_off_loopback_needs_a_way_to_authenticate()
    {
        var (cert, key) = SelfSigned();
        var tokens = File("tokens.csv", "abc,admin,0\n");
        var e = Assert.Throws<NodeConfigException>(() => Parse("--api-address", "10.1.2.3", "--tls-cert-file", cert, "--tls-private-key-file", key));
        Assert.Contains("refusing to serve the API on non-loopback 10.1.2.3 without authentication", e.Message);
        var withTokens = Parse("--api-address", "10.1.2.3", "--tls-cert-file", cert, "--tls-private-key-file", key, "--token-auth-file", tokens);
        Assert.Equal(tokens, withTokens.ApiTokenAuthFile);
        var withClientCa = Parse("--api-address", "10.1.2.3", "--tls-cert-file", cert, "--tls-private-key-file", key, "--client-ca-file", cert);
        Assert.Equal(cert, withClientCa.ClientCaFile);
    }

    public static TheoryData<string, string[], string> BadSecurityFlags => new()
    {
        { "a certificate without its key", ["--tls-cert-file", "/tmp/x.crt"], "--tls-cert-file and --tls-private-key-file go together" },
        { "a missing certificate file", ["--tls-cert-file", "/nonexistent/a.crt", "--tls-private-key-file", "/nonexistent/a.key"], "cannot load '/nonexistent/a.crt'" },
        { "a missing token file", ["--token-auth-file", "/nonexistent/tokens.csv"], "--token-auth-file '/nonexistent/tokens.csv'" },
    };

    [Theory]
    [MemberData(nameof(BadSecurityFlags))]
    public void Bad_security_flags_are_one_line_errors(string because, string[] args, string message)
    {
        var e = Assert.Throws<NodeConfigException>(() => Parse(args));
        Assert.True(e.Message.Contains(message, StringComparison.Ordinal), $"{because}: {e.Message}");
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void A_malformed_token_file_names_the_line()
    {
        var tokens = File("bad.csv", "# comment\nabc,admin,0\nonly-a-token\n");
        var e = Assert.Throws<NodeConfigException>(() => Parse("--token-auth-file", tokens));
        Assert.Contains("line 3: expected token,user,uid", e.Message);
        var empty = File("empty.csv", "# nothing\n\n");
        Assert.Contains("no token in the file", Assert.Throws<NodeConfigException>(() => Parse("--token-auth-file", empty)).Message);
    }

    [Fact]
    public void Pod_routes_refuse_a_loopback_pod_range()
    {
        // Routed between machines, a pod range must be a real one: a 127/8 range cannot leave its host.
        var e = Assert.Throws<NodeConfigException>(() => Parse("--pod-routes", "--pod-cidr", "127.64.1.0/24"));
        Assert.Contains("--pod-routes: --pod-cidr '127.64.1.0/24' must be a routable IPv4 range outside 127.0.0.0/8", e.Message);
        // Without a pod range (a control plane) there is nothing to make local: the flag only asks for the other nodes' routes.
        Assert.True(NodeCommandLine.ToOptions(NodeCommandLine.CreateRootCommand().Parse(["--node-name", "n1", "--pod-routes"])).PodRoutes);
    }
}
