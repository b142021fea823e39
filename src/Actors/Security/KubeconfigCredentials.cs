using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using k8s;

namespace AkkaKube.Actors.Security;

/// <summary>
/// How a client reaches the API according to a kubeconfig (its current context): the server, the CA it trusts and the
/// client certificate or token it presents. The `akkakube` CLI and the tests build their HttpClients from it, so they
/// talk to the cluster exactly as kubectl and the client libraries do with the same file.
/// </summary>
public sealed class KubeconfigCredentials
{
    public Uri Server { get; }
    public X509Certificate2Collection? CertificateAuthority { get; }
    public X509Certificate2? ClientCertificate { get; }
    public string? Token { get; }

    private KubeconfigCredentials(Uri server, X509Certificate2Collection? ca, X509Certificate2? clientCertificate, string? token)
    {
        Server = server;
        CertificateAuthority = ca;
        ClientCertificate = clientCertificate;
        Token = token;
    }

    /// <summary>The same credentials for another apiserver of the cluster (each control plane's certificate names its own address).</summary>
    public KubeconfigCredentials WithServer(Uri server) => new(server, CertificateAuthority, ClientCertificate, Token);

    public static KubeconfigCredentials Load(string kubeconfigPath)
    {
        var config = KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfigPath);
        X509Certificate2? client = null;
        if (!string.IsNullOrEmpty(config.ClientCertificateData) && !string.IsNullOrEmpty(config.ClientCertificateKeyData))
            client = X509Certificate2.CreateFromPem(Decode(config.ClientCertificateData), Decode(config.ClientCertificateKeyData));
        else if (!string.IsNullOrEmpty(config.ClientCertificateFilePath) && !string.IsNullOrEmpty(config.ClientKeyFilePath))
            client = X509Certificate2.CreateFromPemFile(config.ClientCertificateFilePath, config.ClientKeyFilePath);
        return new KubeconfigCredentials(new Uri(config.Host), config.SslCaCerts, client, config.AccessToken);

        static string Decode(string base64) => Encoding.UTF8.GetString(Convert.FromBase64String(base64));
    }

    /// <summary>A handler that trusts only the kubeconfig's CA (host names checked) and presents its client certificate.</summary>
    public SocketsHttpHandler CreateHandler()
    {
        var handler = new SocketsHttpHandler();
        if (ClientCertificate is not null) handler.SslOptions.ClientCertificates = [ClientCertificate];
        if (CertificateAuthority is { Count: > 0 })
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) => IsTrustedServer(certificate, errors);
        return handler;
    }

    /// <summary>The TLS options a raw client (SslStream) needs for the same trust and client certificate.</summary>
    public SslClientAuthenticationOptions SslOptions() => new()
    {
        TargetHost = Server.Host,
        ClientCertificates = ClientCertificate is null ? null : [ClientCertificate],
        RemoteCertificateValidationCallback = CertificateAuthority is { Count: > 0 } ? (_, certificate, _, errors) => IsTrustedServer(certificate, errors) : null,
    };

    /// <summary>The server's certificate names the host (checked by TLS) and chains to the kubeconfig's CA, and to no other root.</summary>
    private bool IsTrustedServer(X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (certificate is null || CertificateAuthority is not { Count: > 0 } roots) return false;
        if ((errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None) return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(leaf);
    }

    /// <summary>An HttpClient on the server with these credentials; <paramref name="configure"/> may tune the handler (e.g. connection lifetime).</summary>
    public HttpClient CreateClient(TimeSpan timeout, Action<SocketsHttpHandler>? configure = null)
    {
        var handler = CreateHandler();
        configure?.Invoke(handler);
        var http = new HttpClient(handler) { BaseAddress = Server, Timeout = timeout };
        if (Token is not null) http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Token);
        return http;
    }
}
