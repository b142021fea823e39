using System.Net;

namespace AkkaKube.Actors.Cluster;

public enum PersistenceKind { Sqlite, Postgres }

/// <summary>Failure-detection and hand-over margins: Standard (base.conf) or Fast (hocon/failover-fast.conf).</summary>
public enum FailoverProfile { Standard, Fast }

/// <summary>
/// Everything a node process was told at start: identity, roles, addresses and storage.
/// Registered in DI so every component reads the same facts.
/// </summary>
public sealed record NodeOptions
{
    public required string NodeName { get; init; }
    public bool ControlPlane { get; init; } = true;
    public bool Worker { get; init; } = true;
    public string Zone { get; init; } = "zone-a";
    public string Region { get; init; } = "local";

    /// <summary>The node's own loopback address (127.1.0.0/16); Akka remoting binds here.</summary>
    public IPAddress NodeIp { get; init; } = IPAddress.Loopback;
    public int RemotingPort { get; init; }
    public IReadOnlyList<string> SeedNodes { get; init; } = [];

    /// <summary>--remoting-tls: mutual TLS with the cluster CA between nodes (every node of a cluster must agree); default plain TCP (docs/security.md says why).</summary>
    public bool RemotingTls { get; init; }
    /// <summary>PEM certificate and key of this node's remoting identity (--remoting-cert-file/--remoting-key-file); default: issued at start by the cluster CA in DATA/pki.</summary>
    public string? RemotingCertFile { get; init; }
    public string? RemotingKeyFile { get; init; }
    /// <summary>CA bundle remoting peers must chain to (--remoting-ca-file); default: the cluster CA DATA/pki/ca.crt.</summary>
    public string? RemotingCaFile { get; init; }

    /// <summary>The node's pod CIDR, a /24 in 127.64.0.0/10.</summary>
    public string? PodCidr { get; init; }
    /// <summary>
    /// --pod-routes: the node keeps kernel routes to the other nodes' pod ranges (and its own as local), as a host-gateway
    /// CNI does, so pods reach each other across machines (src/Actors/PodNetwork). Needs CAP_NET_ADMIN.
    /// </summary>
    public bool PodRoutes { get; init; }

    public IPAddress ApiAddress { get; init; } = IPAddress.Loopback;
    public int ApiPort { get; init; } = 6443;
    /// <summary>--insecure-http: plain HTTP, no client certificates (warned about at every start). Default: HTTPS.</summary>
    public bool InsecureHttp { get; init; }

    /// <summary>PEM serving certificate and key (--tls-cert-file, --tls-private-key-file); default: issued by the cluster CA in DATA/pki.</summary>
    public string? ApiTlsCertFile { get; init; }
    public string? ApiTlsKeyFile { get; init; }

    /// <summary>kube-apiserver's static token file (token,user,uid[,"groups"]): bearer tokens are required (--token-auth-file).</summary>
    public string? ApiTokenAuthFile { get; init; }

    /// <summary>CA bundle that client certificates must chain to (--client-ca-file); default: the cluster CA in DATA/pki.</summary>
    public string? ClientCaFile { get; init; }

    public bool ApiTls => !InsecureHttp;

    /// <summary>--encryption-provider-config: the EncryptionConfiguration file of the store's encryption at rest, or null.</summary>
    public string? EncryptionProviderConfig { get; init; }

    /// <summary>--audit-policy-file (audit.k8s.io/v1 Policy) and --audit-log-path (JSON lines): both given = the audit log is on.</summary>
    public string? AuditPolicyFile { get; init; }
    public string? AuditLogPath { get; init; }
    /// <summary>--audit-log-maxsize in megabytes before the log rotates (0: never); --audit-log-maxbackup old files kept (0: all).</summary>
    public int AuditLogMaxSize { get; init; }
    public int AuditLogMaxBackup { get; init; }

    /// <summary>The metrics and health port on <see cref="NodeIp"/> (--metrics-port; 0 = any free port).</summary>
    public int MetricsPort { get; init; }

    public IPAddress CmdAddress { get; init; } = IPAddress.Loopback;
    public int CmdPort { get; init; } = 9110;
    public string? CmdToken { get; init; }

    public required string DataDirectory { get; init; }
    public PersistenceKind Persistence { get; init; } = PersistenceKind.Sqlite;
    public string? PostgresConnectionString { get; init; }

    /// <summary>--failover: Fast layers hocon/failover-fast.conf over the role files (see docs/failover.md).</summary>
    public FailoverProfile Failover { get; init; } = FailoverProfile.Standard;

    /// <summary>Extra HOCON files given with --config, in order (later wins).</summary>
    public IReadOnlyList<string> ConfigFiles { get; init; } = [];
    /// <summary>--runtime: process, simulated or cri (null: from HOCON, default process).</summary>
    public string? Runtime { get; init; }
    /// <summary>--container-runtime-endpoint: the CRI socket (unix:///path) of the cri runtime.</summary>
    public string? ContainerRuntimeEndpoint { get; init; }
    /// <summary>--cluster-domain: the cluster's DNS domain (null: from HOCON akkakube.dns.cluster-domain, default cluster.local).</summary>
    public string? ClusterDomain { get; init; }
    /// <summary>--proxy-mode: auto, userspace or nftables (null: from HOCON akkakube.proxy.mode, default auto).</summary>
    public string? ProxyMode { get; init; }

    public IReadOnlyList<string> Roles
    {
        get
        {
            var roles = new List<string>();
            if (ControlPlane) roles.Add(AkkaKubeNames.Roles.ControlPlane);
            if (Worker) roles.Add(AkkaKubeNames.Roles.Worker);
            roles.Add(AkkaKubeNames.Roles.Zone(Zone));
            roles.Add(AkkaKubeNames.Roles.Region(Region));
            return roles;
        }
    }

    public string SqliteFile => Path.Combine(DataDirectory, "store.db");

    /// <summary>Node ordinal k → 127.1.(k/256).(k%256), as DESIGN.md fixes.</summary>
    public static IPAddress NodeIpFor(int ordinal) =>
        new([127, 1, (byte)(ordinal / 256), (byte)(ordinal % 256)]);

    /// <summary>Node ordinal k → the k-th /24 of 127.64.0.0/10.</summary>
    public static string PodCidrFor(int ordinal) => $"127.{64 + ordinal / 256}.{ordinal % 256}.0/24";
}
