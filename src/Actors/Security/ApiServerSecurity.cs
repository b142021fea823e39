using System.Net;
using System.Net.NetworkInformation;
using System.Security.Cryptography.X509Certificates;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Services;

namespace AkkaKube.Actors.Security;

/// <summary>
/// What the apiserver of this node serves with: its TLS certificate (given with --tls-cert-file, else issued at start
/// by the cluster CA of the data directory) and its authentication chain (client certificates verified against
/// --client-ca-file or the cluster CA, the static token file). Null certificate: plain HTTP (--insecure-http).
/// </summary>
public sealed record ApiServerSecurity(X509Certificate2? ServingCertificate, ApiAuthenticator Authenticator)
{
    /// <summary>The names a client may use for the apiserver, in or out of the cluster (kubeadm's apiserver SANs).</summary>
    public static readonly IReadOnlyList<string> ServingDnsNames =
        ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"];

    public static ApiServerSecurity Create(NodeOptions node, IPAddress kubernetesServiceIp)
    {
        var tokens = node.ApiTokenAuthFile is { } file ? StaticTokenFile.Load(file) : null;
        if (node.InsecureHttp)
            return new ApiServerSecurity(null, new ApiAuthenticator(null, tokens, tls: false));

        X509Certificate2 serving;
        ClientCertificateVerifier? verifier = null;
        if (node.ApiTlsCertFile is not null && node.ApiTlsKeyFile is not null)
        {
            serving = X509Certificate2.CreateFromPemFile(node.ApiTlsCertFile, node.ApiTlsKeyFile);
            // an operator's own serving certificate: client certificates only against a CA we were given or have
            var ca = node.ClientCaFile ?? (File.Exists(ClusterCa.CertFile(node.DataDirectory)) ? ClusterCa.CertFile(node.DataDirectory) : null);
            if (ca is not null) verifier = ClientCertificateVerifier.FromPemFile(ca);
        }
        else
        {
            using var ca = ClusterCa.LoadOrCreate(node.DataDirectory);
            serving = ca.Issue("kube-apiserver", [], CertificateUse.Server, [.. ServingDnsNames, node.NodeName], ServingAddresses(node, kubernetesServiceIp));
            verifier = node.ClientCaFile is { } clientCa
                ? ClientCertificateVerifier.FromPemFile(clientCa)
                : new ClientCertificateVerifier([X509CertificateLoader.LoadCertificate(ca.Certificate.RawData)]);
        }
        return new ApiServerSecurity(serving, new ApiAuthenticator(verifier, tokens, tls: true));
    }

    /// <summary>Loopback, the node's and the listen address, the `kubernetes` ClusterIP; on a wildcard listen address every local address.</summary>
    public static IReadOnlyList<IPAddress> ServingAddresses(NodeOptions node, IPAddress kubernetesServiceIp)
    {
        var addresses = new List<IPAddress> { IPAddress.Loopback, IPAddress.IPv6Loopback, node.NodeIp, kubernetesServiceIp };
        if (node.ApiAddress.Equals(IPAddress.Any) || node.ApiAddress.Equals(IPAddress.IPv6Any))
            addresses.AddRange(NetworkInterface.GetAllNetworkInterfaces()
                .Where(n => n.OperationalStatus == OperationalStatus.Up)
                .SelectMany(n => n.GetIPProperties().UnicastAddresses.Select(a => a.Address))
                .Where(a => !a.IsIPv6LinkLocal));
        else
            addresses.Add(node.ApiAddress);
        return addresses.Distinct().ToList();
    }

    public static ApiServerSecurity Create(NodeOptions node, Akka.Configuration.Config config) =>
        Create(node, ServiceNetworkSettings.Create(config).KubernetesServiceIp);
}
