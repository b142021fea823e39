using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace AkkaKube.Actors.Security;

/// <summary>What a certificate issued by the cluster CA is for (its extended key usage).</summary>
[Flags]
public enum CertificateUse { Server = 1, Client = 2 }

/// <summary>
/// The cluster's certificate authority, kept in DATA/pki (ca.crt, ca.key 0600) as kubeadm keeps /etc/kubernetes/pki:
/// it signs the apiservers' serving certificates, users' client certificates (CN = user, O = groups) and the
/// nodes' remoting certificates. ECDSA P-256 throughout (Go, Node.js and .NET clients all accept it).
/// </summary>
public sealed class ClusterCa : IDisposable
{
    public const string CommonName = "akkakube-ca";
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    /// <summary>The CA certificate with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    private ClusterCa(X509Certificate2 certificate) => Certificate = certificate;

    public string CertificatePem => Certificate.ExportCertificatePem();

    public static string PkiDirectory(string dataDir) => Path.Combine(dataDir, "pki");
    public static string CertFile(string dataDir) => Path.Combine(PkiDirectory(dataDir), "ca.crt");
    public static string KeyFile(string dataDir) => Path.Combine(PkiDirectory(dataDir), "ca.key");

    /// <summary>The CA of <paramref name="dataDir"/>, created on first use (once, also when several nodes start together).</summary>
    public static ClusterCa LoadOrCreate(string dataDir)
    {
        var pki = PkiDirectory(dataDir);
        PrivateFiles.EnsureDirectory(dataDir);
        PrivateFiles.EnsureDirectory(pki);
        return PrivateFiles.WithLock(Path.Combine(pki, ".lock"), () =>
        {
            if (File.Exists(CertFile(dataDir)) && File.Exists(KeyFile(dataDir)))
                return Load(CertFile(dataDir), KeyFile(dataDir));
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest($"CN={CommonName}", key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
            var now = DateTimeOffset.UtcNow;
            using var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(10));
            PrivateFiles.WriteAllText(KeyFile(dataDir), key.ExportPkcs8PrivateKeyPem());
            PrivateFiles.WriteAllText(CertFile(dataDir), certificate.ExportCertificatePem());
            return Load(CertFile(dataDir), KeyFile(dataDir));
        });
    }

    /// <summary>A CA from PEM files (an operator's own CA: --ca-cert-file/--ca-key-file).</summary>
    public static ClusterCa Load(string certFile, string keyFile) => new(X509Certificate2.CreateFromPemFile(certFile, keyFile));

    /// <summary>
    /// Issues a leaf certificate: <paramref name="commonName"/> and <paramref name="organizations"/> name the subject
    /// (Kubernetes reads CN as the user and O as the groups), the SANs the addresses a server answers on.
    /// </summary>
    public X509Certificate2 Issue(string commonName, IReadOnlyList<string> organizations, CertificateUse use,
        IEnumerable<string>? dnsNames = null, IEnumerable<IPAddress>? ipAddresses = null, TimeSpan? validity = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        foreach (var o in organizations) subject.AddOrganizationName(o);
        subject.AddCommonName(commonName);
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        var usages = new OidCollection();
        if (use.HasFlag(CertificateUse.Server)) usages.Add(ServerAuth);
        if (use.HasFlag(CertificateUse.Client)) usages.Add(ClientAuth);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usages, false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));
        var san = new SubjectAlternativeNameBuilder();
        var anySan = false;
        foreach (var dns in (dnsNames ?? []).Distinct(StringComparer.OrdinalIgnoreCase)) { san.AddDnsName(dns); anySan = true; }
        foreach (var ip in (ipAddresses ?? []).Distinct()) { san.AddIpAddress(ip); anySan = true; }
        if (anySan) request.CertificateExtensions.Add(san.Build());
        var now = DateTimeOffset.UtcNow;
        var notAfter = now + (validity ?? TimeSpan.FromDays(365));
        if (notAfter > Certificate.NotAfter) notAfter = Certificate.NotAfter;
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f; // a positive serial number (RFC 5280)
        using var unsigned = request.Create(Certificate, now.AddMinutes(-5), notAfter, serial);
        return unsigned.CopyWithPrivateKey(key);
    }

    /// <summary>PEM certificate and PKCS#8 key of an issued certificate, as kubeconfigs and PEM flags take them.</summary>
    public static (string CertificatePem, string KeyPem) ToPem(X509Certificate2 certificate) =>
        (certificate.ExportCertificatePem(), certificate.GetECDsaPrivateKey()?.ExportPkcs8PrivateKeyPem()
                                             ?? throw new InvalidOperationException("the certificate has no ECDSA private key"));

    public void Dispose() => Certificate.Dispose();
}
