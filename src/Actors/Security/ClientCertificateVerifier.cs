using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;

namespace AkkaKube.Actors.Security;

/// <summary>
/// kube-apiserver's x509 authenticator: a client certificate that chains to the cluster CA (--client-ca-file) and is
/// meant for client authentication names the user (CN) and its groups (O). Verified results are cached by thumbprint
/// until the certificate expires, since a client presents the same certificate on every connection.
/// </summary>
public sealed class ClientCertificateVerifier(X509Certificate2Collection trustedRoots)
{
    private const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";
    private const int CacheLimit = 10_000;
    private readonly ConcurrentDictionary<string, (UserInfo? User, DateTime NotAfter)> _cache = new();

    public static ClientCertificateVerifier FromPemFile(string caFile)
    {
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(caFile);
        if (roots.Count == 0) throw new FormatException($"no certificate in '{caFile}'");
        return new ClientCertificateVerifier(roots);
    }

    /// <summary>The user the certificate names, or null when it does not chain to the CA, has expired or is not a client certificate.</summary>
    public UserInfo? Verify(X509Certificate2 certificate)
    {
        var now = DateTime.UtcNow;
        var key = certificate.Thumbprint;
        if (_cache.TryGetValue(key, out var cached) && cached.NotAfter > now) return cached.User;
        var user = VerifyUncached(certificate);
        if (_cache.Count >= CacheLimit) _cache.Clear();
        // a refused certificate is remembered briefly only: the CA file may be fixed while the server runs
        _cache[key] = (user, user is null ? now.AddSeconds(10) : certificate.NotAfter.ToUniversalTime());
        return user;
    }

    private UserInfo? VerifyUncached(X509Certificate2 certificate)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(trustedRoots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid(ClientAuthOid));
        if (!chain.Build(certificate)) return null;
        var name = certificate.GetNameInfo(X509NameType.SimpleName, false);
        if (string.IsNullOrEmpty(name)) return null;
        var groups = certificate.SubjectName.EnumerateRelativeDistinguishedNames()
            .Where(rdn => rdn.GetSingleElementType().Value == "2.5.4.10") // O
            .Select(rdn => rdn.GetSingleElementValue() ?? "")
            .Where(g => g.Length > 0);
        return new UserInfo(name, UserInfo.Authenticated(groups));
    }
}
