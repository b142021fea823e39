using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Event;
using Akka.Hosting;
using Akka.Remote.Transport.DotNetty;
using AkkaKube.Actors.Cluster;

namespace AkkaKube.Actors.Security;

/// <summary>
/// Akka remoting over mutual TLS: every node presents a certificate of the cluster CA and accepts only peers that
/// present one too, so a process without the cluster's certificate can neither join nor send a message (Akka's
/// DotNetty transport checks both sides of every connection). The node's certificate comes from
/// --remoting-cert-file/--remoting-key-file, or is issued at start by the CA of the data directory; peers are
/// verified against --remoting-ca-file or that CA. Hostnames are not checked: nodes dial each other by IP and the
/// chain to the cluster CA is what makes a peer a member.
/// </summary>
public static class RemotingTls
{
    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    /// <summary>The node's remoting identity: CN system:node:NAME, O system:nodes (Kubernetes' kubelet identity).</summary>
    public static string CommonName(string nodeName) => $"system:node:{nodeName}";
    public const string NodesGroup = "system:nodes";

    public static DotNettySslSetup Setup(NodeOptions node)
    {
        var (certificate, roots) = Load(node);
        return new DotNettySslSetup(certificate, suppressValidation: false, requireMutualAuthentication: true,
            validateCertificateHostname: false, customValidator: Validator(roots));
    }

    /// <summary>An ActorSystem setup for <paramref name="node"/> outside Akka.Hosting (tools, tests): its HOCON plus its remoting TLS.</summary>
    public static ActorSystemSetup SystemSetup(NodeOptions node, Akka.Configuration.Config config)
    {
        var bootstrap = BootstrapSetup.Create().WithConfig(config);
        return node.RemotingTls ? bootstrap.And(Setup(node)) : ActorSystemSetup.Create(bootstrap);
    }

    /// <summary>The node's certificate (with its key) and the CA certificates peers must chain to.</summary>
    public static (X509Certificate2 Certificate, X509Certificate2Collection Roots) Load(NodeOptions node)
    {
        X509Certificate2 certificate;
        var roots = new X509Certificate2Collection();
        if (node.RemotingCertFile is not null && node.RemotingKeyFile is not null)
        {
            certificate = X509Certificate2.CreateFromPemFile(node.RemotingCertFile, node.RemotingKeyFile);
            roots.ImportFromPemFile(node.RemotingCaFile ?? ClusterCa.CertFile(node.DataDirectory));
        }
        else
        {
            using var ca = ClusterCa.LoadOrCreate(node.DataDirectory);
            certificate = ca.Issue(CommonName(node.NodeName), [NodesGroup], CertificateUse.Server | CertificateUse.Client,
                [node.NodeName], [node.NodeIp]);
            if (node.RemotingCaFile is { } caFile) roots.ImportFromPemFile(caFile);
            else roots.Add(X509CertificateLoader.LoadCertificate(ca.Certificate.RawData));
        }
        if (roots.Count == 0)
            throw new NodeConfigException("the remoting CA file holds no certificate");
        return (certificate, roots);
    }

    /// <summary>Accepts a peer whose certificate chains to <paramref name="roots"/> and may act as client and server.</summary>
    public static CertificateValidationCallback Validator(X509Certificate2Collection roots) =>
        (certificate, _, peer, _, log) =>
        {
            if (certificate is null)
            {
                log.Warning("Refused remoting connection from {0}: no certificate", peer);
                return false;
            }
            if (Verify(certificate, roots)) return true;
            log.Warning("Refused remoting connection from {0}: certificate '{1}' is not issued by the cluster CA", peer, certificate.Subject);
            return false;
        };

    public static bool Verify(X509Certificate2 certificate, X509Certificate2Collection roots)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid(ServerAuthOid));
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid(ClientAuthOid));
        return chain.Build(certificate);
    }

    /// <summary>Mutual TLS on the node's remoting transport with --remoting-tls (the HOCON flag enable-ssl comes from the node's flags).</summary>
    public static AkkaConfigurationBuilder AddRemotingTls(this AkkaConfigurationBuilder builder, NodeOptions node) =>
        node.RemotingTls ? builder.AddSetup(Setup(node)) : builder;
}
