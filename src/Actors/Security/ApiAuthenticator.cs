using System.Security.Cryptography.X509Certificates;

namespace AkkaKube.Actors.Security;

/// <summary>
/// The apiserver's authentication chain in Kubernetes' order: client certificate (verified against the cluster CA),
/// then bearer token (static token file), then anonymous — the latter only for the paths Kubernetes lets
/// unauthenticated users read (health and version). A bad credential is a 401 even where anonymous would do,
/// as in Kubernetes. A plain-HTTP apiserver (--insecure-http) without tokens cannot check anything: every caller is
/// <see cref="UserInfo.Unsecured"/>.
/// </summary>
public sealed class ApiAuthenticator(ClientCertificateVerifier? certificates, StaticTokenFile? tokens, bool tls)
{
    public static readonly IReadOnlyList<string> AnonymousPaths = ["/healthz", "/livez", "/readyz", "/version"];

    public bool ClientCertificates => certificates is not null;
    public bool Tokens => tokens is not null;
    /// <summary>Whether any credential is checked at all (false: plain HTTP without a token file).</summary>
    public bool Enabled => tokens is not null || (tls && certificates is not null);

    /// <summary>The caller, or null for 401 Unauthorized.</summary>
    public UserInfo? Authenticate(string path, X509Certificate2? clientCertificate, string? authorization)
    {
        if (clientCertificate is not null && certificates?.Verify(clientCertificate) is { } fromCertificate)
            return fromCertificate;
        if (!string.IsNullOrEmpty(authorization))
            return tokens?.Authenticate(authorization);
        if (clientCertificate is not null) return null; // presented but not ours: Kubernetes answers 401
        if (!Enabled) return UserInfo.Unsecured;
        return IsAnonymousPath(path) ? UserInfo.Anonymous : null;
    }

    public static bool IsAnonymousPath(string path) =>
        AnonymousPaths.Any(p => path == p || path.StartsWith(p + "/", StringComparison.Ordinal));
}
