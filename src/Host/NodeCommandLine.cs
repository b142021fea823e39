using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using AkkaKube.Actors.Cluster;

namespace AkkaKube.Host;

/// <summary>Flags (and AKKAKUBE_* environment variables) of the node process, validated into <see cref="NodeOptions"/>.</summary>
public static class NodeCommandLine
{
    public static readonly Option<string> NodeName = new("--node-name") { Description = "Node name (also the Kubernetes Node name). Env: AKKAKUBE_NODE_NAME" };
    public static readonly Option<string> Roles = new("--roles") { Description = "Comma-separated roles: control-plane, worker. Env: AKKAKUBE_ROLES", DefaultValueFactory = _ => "control-plane,worker" };
    public static readonly Option<string> Zone = new("--zone") { Description = "Availability zone. Env: AKKAKUBE_ZONE", DefaultValueFactory = _ => "zone-a" };
    public static readonly Option<string> Region = new("--region") { Description = "Region. Env: AKKAKUBE_REGION", DefaultValueFactory = _ => "local" };
    public static readonly Option<string> NodeIp = new("--node-ip") { Description = "The node's own loopback address (127.1.0.0/16). Env: AKKAKUBE_NODE_IP", DefaultValueFactory = _ => "127.0.0.1" };
    public static readonly Option<int> Port = new("--port") { Description = "Akka remoting port (0 = any free port). Env: AKKAKUBE_PORT" };
    public static readonly Option<string[]> Seeds = new("--seed") { Description = "Seed node address, e.g. akka.tcp://akkakube@127.1.0.1:4053 (akka.ssl.tcp:// names the same node; repeatable). Env: AKKAKUBE_SEEDS (comma-separated)", AllowMultipleArgumentsPerToken = true };
    public static readonly Option<string> PodCidr = new("--pod-cidr") { Description = "Pod CIDR of this node (a /24 in 127.64.0.0/10). Env: AKKAKUBE_POD_CIDR" };
    public static readonly Option<string> ApiAddress = new("--api-address") { Description = "Apiserver listen address. Env: AKKAKUBE_API_ADDRESS", DefaultValueFactory = _ => "127.0.0.1" };
    public static readonly Option<int> ApiPort = new("--api-port") { Description = "Apiserver port, shared by all local control-plane nodes (SO_REUSEPORT). Env: AKKAKUBE_API_PORT", DefaultValueFactory = _ => 6443 };
    public static readonly Option<bool> InsecureHttp = new("--insecure-http", "--insecure-api") { Description = "Serve the API over plain HTTP without client certificates (logs a warning at every start; default: HTTPS with the cluster CA)" };
    public static readonly Option<string> TlsCertFile = new("--tls-cert-file") { Description = "PEM serving certificate (with --tls-private-key-file); default: issued at start by the cluster CA in DATA/pki. Env: AKKAKUBE_TLS_CERT_FILE" };
    public static readonly Option<string> TlsKeyFile = new("--tls-private-key-file") { Description = "PEM private key of --tls-cert-file. Env: AKKAKUBE_TLS_PRIVATE_KEY_FILE" };
    public static readonly Option<string> ClientCaFile = new("--client-ca-file") { Description = "PEM CA bundle client certificates must chain to (CN = user, O = groups); default: the cluster CA DATA/pki/ca.crt. Env: AKKAKUBE_CLIENT_CA_FILE" };
    public static readonly Option<string> TokenAuthFile = new("--token-auth-file") { Description = "Static tokens (token,user,uid[,\"groups\"] per line, as kube-apiserver): every API request needs one. Env: AKKAKUBE_TOKEN_AUTH_FILE" };
    public static readonly Option<bool> RemotingTlsFlag = new("--remoting-tls") { Description = "Akka remoting over mutual TLS with the cluster CA (every node of a cluster must agree; default plain TCP, see docs/security.md)" };
    public static readonly Option<string> RemotingCertFile = new("--remoting-cert-file") { Description = "PEM certificate of this node's remoting identity (with --remoting-key-file); default: issued at start by the cluster CA in DATA/pki. Env: AKKAKUBE_REMOTING_CERT_FILE" };
    public static readonly Option<string> RemotingKeyFile = new("--remoting-key-file") { Description = "PEM private key of --remoting-cert-file. Env: AKKAKUBE_REMOTING_KEY_FILE" };
    public static readonly Option<string> RemotingCaFile = new("--remoting-ca-file") { Description = "PEM CA bundle remoting peers must chain to; default: the cluster CA DATA/pki/ca.crt. Env: AKKAKUBE_REMOTING_CA_FILE" };
    public static readonly Option<string> EncryptionProviderConfig = new("--encryption-provider-config") { Description = "EncryptionConfiguration file (as kube-apiserver's): encrypt these resources at rest in the store's journal and snapshots (aesgcm, identity). Env: AKKAKUBE_ENCRYPTION_PROVIDER_CONFIG" };
    public static readonly Option<string> AuditPolicyFile = new("--audit-policy-file") { Description = "Audit policy (audit.k8s.io/v1 Policy, as kube-apiserver's): which requests are logged at which level; with --audit-log-path. Env: AKKAKUBE_AUDIT_POLICY_FILE" };
    public static readonly Option<string> AuditLogPath = new("--audit-log-path") { Description = "Audit log file: one audit.k8s.io/v1 Event per line (0600). Env: AKKAKUBE_AUDIT_LOG_PATH" };
    public static readonly Option<int> AuditLogMaxSize = new("--audit-log-maxsize") { Description = "Megabytes of the audit log before it is rotated (0: never)" };
    public static readonly Option<int> AuditLogMaxBackup = new("--audit-log-maxbackup") { Description = "Rotated audit log files kept (0: all)" };
    public static readonly Option<int> MetricsPort = new("--metrics-port") { Description = "Metrics and health port on --node-ip (/metrics, /livez, /readyz, /healthz; 0 = any free port, logged at start). Env: AKKAKUBE_METRICS_PORT" };
    public static readonly Option<string> CmdAddress = new("--cmd-address") { Description = "Command host listen address. Env: AKKAKUBE_CMD_ADDRESS", DefaultValueFactory = _ => "127.0.0.1" };
    public static readonly Option<int> CmdPort = new("--cmd-port") { Description = "Command host port (akkakube cmd). Env: AKKAKUBE_CMD_PORT", DefaultValueFactory = _ => 9110 };
    public static readonly Option<string> CmdToken = new("--cmd-token") { Description = "Shared secret for the command host (required off loopback). Env: AKKAKUBE_CMD_TOKEN" };
    public static readonly Option<string> DataDir = new("--data-dir") { Description = "Data directory (SQLite store, logs). Env: AKKAKUBE_DATA_DIR", DefaultValueFactory = _ => ".akkakube" };
    public static readonly Option<string> Postgres = new("--postgres") { Description = "PostgreSQL connection string; selects the PostgreSQL journal instead of SQLite (visible in ps: prefer --postgres-file or the environment). Env: AKKAKUBE_POSTGRES" };
    public static readonly Option<string> PostgresFile = new("--postgres-file") { Description = "File (0600) holding the PostgreSQL connection string, so it appears on no command line. Env: AKKAKUBE_POSTGRES_FILE" };
    public static readonly Option<string> Failover = new("--failover") { Description = "Failover profile: standard (safe margins, default) or fast (hand-over in seconds on a quiet machine; see docs/failover.md). Env: AKKAKUBE_FAILOVER" };
    public static readonly Option<string> Runtime = new("--runtime") { Description = "Container runtime: process (default), simulated or cri (with --container-runtime-endpoint). Env: AKKAKUBE_RUNTIME" };
    public static readonly Option<bool> PodRoutes = new("--pod-routes") { Description = "Route pods between machines as a host-gateway CNI does: this node's --pod-cidr local on lo, and a route to every other Node's podCIDR via its InternalIP (needs CAP_NET_ADMIN: root, or a container with NET_ADMIN; docs/hosts.md). Env: AKKAKUBE_POD_ROUTES=1" };
    public static readonly Option<string> ProxyMode = new("--proxy-mode") { Description = "kube-proxy mode: auto (default: nftables for --runtime cri, userspace otherwise), userspace or nftables (root, nft). Env: AKKAKUBE_PROXY_MODE" };
    public static readonly Option<string> ContainerRuntimeEndpoint = new("--container-runtime-endpoint") { Description = "CRI socket of the cri runtime, e.g. unix:///run/containerd/containerd.sock. Env: AKKAKUBE_CONTAINER_RUNTIME_ENDPOINT" };
    public static readonly Option<string> ClusterDomain = new("--cluster-domain") { Description = "The cluster's DNS domain, served by every node's cluster DNS and searched by pods (default cluster.local; docs/dns.md). Env: AKKAKUBE_CLUSTER_DOMAIN" };
    public static readonly Option<string[]> ConfigFiles = new("--config") { Description = "Extra HOCON file(s) layered over the defaults (repeatable)" };

    public static RootCommand CreateRootCommand()
    {
        var root = new RootCommand("AkkaKube node process: one member of the AkkaKube Akka.NET cluster.");
        foreach (var option in new Option[] { NodeName, Roles, Zone, Region, NodeIp, Port, Seeds, PodCidr, ApiAddress, ApiPort, InsecureHttp, TlsCertFile, TlsKeyFile, ClientCaFile, TokenAuthFile, RemotingTlsFlag, RemotingCertFile, RemotingKeyFile, RemotingCaFile, EncryptionProviderConfig, AuditPolicyFile, AuditLogPath, AuditLogMaxSize, AuditLogMaxBackup, MetricsPort, CmdAddress, CmdPort, CmdToken, DataDir, Postgres, PostgresFile, Failover, Runtime, ContainerRuntimeEndpoint, ProxyMode, PodRoutes, ClusterDomain, ConfigFiles })
            root.Options.Add(option);
        return root;
    }

    /// <summary>Turns parsed flags into options, or throws <see cref="NodeConfigException"/> with a one-line message.</summary>
    public static NodeOptions ToOptions(ParseResult parse)
    {
        string? Get(Option<string> o, string env) =>
            parse.GetResult(o) is { Implicit: false } ? parse.GetValue(o) : Environment.GetEnvironmentVariable(env) ?? parse.GetValue(o);
        int GetInt(Option<int> o, string env)
        {
            if (parse.GetResult(o) is { Implicit: false }) return parse.GetValue(o);
            var s = Environment.GetEnvironmentVariable(env);
            if (s is null) return parse.GetValue(o);
            return int.TryParse(s, out var v) ? v : throw new NodeConfigException($"{env}='{s}' is not a number");
        }

        var name = Get(NodeName, "AKKAKUBE_NODE_NAME");
        if (string.IsNullOrWhiteSpace(name))
            throw new NodeConfigException("--node-name is required");
        if (!IsDns1123Label(name))
            throw new NodeConfigException($"--node-name '{name}' must be a DNS-1123 label (lower-case letters, digits, '-', at most 63)");

        var roles = (Get(Roles, "AKKAKUBE_ROLES") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var r in roles)
            if (r is not ("control-plane" or "worker"))
                throw new NodeConfigException($"--roles: unknown role '{r}' (use control-plane and/or worker)");
        if (roles.Length == 0)
            throw new NodeConfigException("--roles: at least one of control-plane, worker");

        var zone = Get(Zone, "AKKAKUBE_ZONE")!;
        if (!IsDns1123Label(zone)) throw new NodeConfigException($"--zone '{zone}' must be a DNS-1123 label");
        var region = Get(Region, "AKKAKUBE_REGION")!;
        if (!IsDns1123Label(region)) throw new NodeConfigException($"--region '{region}' must be a DNS-1123 label");

        var nodeIp = ParseIp(Get(NodeIp, "AKKAKUBE_NODE_IP")!, "--node-ip");
        var port = CheckPort(GetInt(Port, "AKKAKUBE_PORT"), "--port", allowZero: true);
        var seeds = parse.GetResult(Seeds) is { Implicit: false }
            ? parse.GetValue(Seeds) ?? []
            : (Environment.GetEnvironmentVariable("AKKAKUBE_SEEDS") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var seed in seeds) ValidateSeed(seed);

        var runtime = Get(Runtime, "AKKAKUBE_RUNTIME");
        if (runtime is not (null or "process" or "simulated" or "cri"))
            throw new NodeConfigException($"--runtime '{runtime}' must be process, simulated or cri");
        var endpoint = Get(ContainerRuntimeEndpoint, "AKKAKUBE_CONTAINER_RUNTIME_ENDPOINT");
        var proxyMode = Get(ProxyMode, "AKKAKUBE_PROXY_MODE");
        if (proxyMode is not (null or "auto" or "userspace" or "nftables"))
            throw new NodeConfigException($"--proxy-mode '{proxyMode}' must be auto, userspace or nftables");
        if (runtime == "cri" && endpoint is null)
            throw new NodeConfigException("--runtime cri needs --container-runtime-endpoint unix:///path/to/containerd.sock");
        if (endpoint is not null && !endpoint.StartsWith("unix:///", StringComparison.Ordinal))
            throw new NodeConfigException($"--container-runtime-endpoint '{endpoint}' must be unix:///path/to/socket");

        var clusterDomain = Get(ClusterDomain, "AKKAKUBE_CLUSTER_DOMAIN") is { } d ? Actors.Dns.ClusterZone.Normalize(d) : null;
        if (clusterDomain is not null && !Actors.Dns.DnsSettings.IsDomain(clusterDomain))
            throw new NodeConfigException($"--cluster-domain '{clusterDomain}' must be a DNS domain (lower-case labels separated by dots, e.g. cluster.local)");

        var podCidr = Get(PodCidr, "AKKAKUBE_POD_CIDR");
        var podRoutes = parse.GetValue(PodRoutes) || Environment.GetEnvironmentVariable("AKKAKUBE_POD_ROUTES") is "1" or "true";
        if (podRoutes && podCidr is not null && !Actors.PodNetwork.PodRouteTable.IsRoutable(podCidr, out _))
            throw new NodeConfigException($"--pod-routes: --pod-cidr '{podCidr}' must be a routable IPv4 range outside 127.0.0.0/8, e.g. 10.200.1.0/24");
        // With --pod-routes the node makes its process-runtime range local itself (Preflight), so it is not checked here.
        var localByRoutes = podRoutes && runtime != "cri";
        // cri pods live in their own network namespaces: their CIDR is a routable private range (docs/kubelet.md).
        if (podCidr is not null && !localByRoutes && !(runtime == "cri" ? IsCriPodCidr(podCidr) : IsPodCidr(podCidr) || IsLocalPodCidr(podCidr)))
            throw new NodeConfigException(runtime == "cri"
                ? $"--pod-cidr '{podCidr}' must be a /24 inside 10.244.0.0/16 with --runtime cri, e.g. 10.244.1.0/24"
                : $"--pod-cidr '{podCidr}' must be a /24 inside 127.64.0.0/10, e.g. 127.64.1.0/24, or a /24 this host routes locally (`ip route add local CIDR dev lo`, as `akkakube up --hosts netns` does)");

        var apiAddress = ParseIp(Get(ApiAddress, "AKKAKUBE_API_ADDRESS")!, "--api-address");
        var apiPort = CheckPort(GetInt(ApiPort, "AKKAKUBE_API_PORT"), "--api-port", allowZero: false);
        var insecure = parse.GetValue(InsecureHttp);
        var (tlsCert, tlsKey) = CertificatePair(FullPathOrNull(Get(TlsCertFile, "AKKAKUBE_TLS_CERT_FILE")), TlsCertFile.Name,
            FullPathOrNull(Get(TlsKeyFile, "AKKAKUBE_TLS_PRIVATE_KEY_FILE")), TlsKeyFile.Name);
        var clientCa = CaBundle(FullPathOrNull(Get(ClientCaFile, "AKKAKUBE_CLIENT_CA_FILE")), ClientCaFile.Name);
        var tokenFile = FullPathOrNull(Get(TokenAuthFile, "AKKAKUBE_TOKEN_AUTH_FILE"));
        if (tokenFile is not null)
            LoadTokens(tokenFile);
        var remotingTls = parse.GetValue(RemotingTlsFlag);
        var (remotingCert, remotingKey) = CertificatePair(FullPathOrNull(Get(RemotingCertFile, "AKKAKUBE_REMOTING_CERT_FILE")), RemotingCertFile.Name,
            FullPathOrNull(Get(RemotingKeyFile, "AKKAKUBE_REMOTING_KEY_FILE")), RemotingKeyFile.Name);
        var remotingCa = CaBundle(FullPathOrNull(Get(RemotingCaFile, "AKKAKUBE_REMOTING_CA_FILE")), RemotingCaFile.Name);
        var encryptionConfig = FullPathOrNull(Get(EncryptionProviderConfig, "AKKAKUBE_ENCRYPTION_PROVIDER_CONFIG"));
        if (encryptionConfig is not null)
        {
            try
            {
                Actors.Security.EncryptionConfiguration.Load(encryptionConfig);
            }
            catch (Actors.Security.EncryptionConfigException e)
            {
                throw new NodeConfigException($"--encryption-provider-config: {e.Message}");
            }
        }
        var auditPolicy = FullPathOrNull(Get(AuditPolicyFile, "AKKAKUBE_AUDIT_POLICY_FILE"));
        var auditLog = FullPathOrNull(Get(AuditLogPath, "AKKAKUBE_AUDIT_LOG_PATH"));
        if ((auditPolicy is null) != (auditLog is null))
            throw new NodeConfigException("--audit-policy-file and --audit-log-path go together: give both to write an audit log");
        if (auditPolicy is not null)
        {
            try
            {
                Actors.ApiServer.Audit.AuditPolicy.Load(auditPolicy);
            }
            catch (Actors.ApiServer.Audit.AuditPolicyException e)
            {
                throw new NodeConfigException($"--audit-policy-file: {e.Message}");
            }
        }
        var auditMaxSize = parse.GetValue(AuditLogMaxSize);
        var auditMaxBackup = parse.GetValue(AuditLogMaxBackup);
        if (auditMaxSize < 0 || auditMaxBackup < 0) throw new NodeConfigException("--audit-log-maxsize and --audit-log-maxbackup must not be negative");
        var metricsPort = CheckPort(GetInt(MetricsPort, "AKKAKUBE_METRICS_PORT"), "--metrics-port", allowZero: true);
        var cmdAddress = ParseIp(Get(CmdAddress, "AKKAKUBE_CMD_ADDRESS")!, "--cmd-address");
        var cmdPort = CheckPort(GetInt(CmdPort, "AKKAKUBE_CMD_PORT"), "--cmd-port", allowZero: true);
        var cmdToken = Get(CmdToken, "AKKAKUBE_CMD_TOKEN");
        var dataDir = Path.GetFullPath(Get(DataDir, "AKKAKUBE_DATA_DIR")!);
        // Off loopback only with a secret: --cmd-token, or the cluster's DATA/cmd-token that `akkakube up` wrote (0600).
        if (!IPAddress.IsLoopback(cmdAddress) && string.IsNullOrEmpty(cmdToken) && Actors.Cmd.CmdTokenFile.TryRead(dataDir) is null)
            throw new NodeConfigException($"--cmd-address {cmdAddress} is not loopback: set --cmd-token (or AKKAKUBE_CMD_TOKEN), or write the token to DATA/cmd-token");

        var postgres = Get(Postgres, "AKKAKUBE_POSTGRES");
        if (FullPathOrNull(Get(PostgresFile, "AKKAKUBE_POSTGRES_FILE")) is { } postgresFile)
        {
            if (!string.IsNullOrEmpty(postgres)) throw new NodeConfigException("--postgres and --postgres-file: give one of them");
            try
            {
                postgres = File.ReadAllText(postgresFile).Trim();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new NodeConfigException($"--postgres-file '{postgresFile}': {e.Message}");
            }
            if (postgres.Length == 0) throw new NodeConfigException($"--postgres-file '{postgresFile}' is empty");
        }
        var failover = (Get(Failover, "AKKAKUBE_FAILOVER") ?? "standard").Trim().ToLowerInvariant() switch
        {
            "" or "standard" => FailoverProfile.Standard,
            "fast" => FailoverProfile.Fast,
            var other => throw new NodeConfigException($"--failover: unknown profile '{other}' (expected standard or fast)"),
        };
        var configFiles = (parse.GetValue(ConfigFiles) ?? []).Select(Path.GetFullPath).ToList();
        foreach (var f in configFiles)
            if (!File.Exists(f)) throw new NodeConfigException($"--config: file '{f}' does not exist");

        return new NodeOptions
        {
            NodeName = name,
            ControlPlane = roles.Contains("control-plane"),
            Worker = roles.Contains("worker"),
            Zone = zone,
            Region = region,
            NodeIp = nodeIp,
            RemotingPort = port,
            SeedNodes = seeds,
            PodCidr = podCidr,
            PodRoutes = podRoutes,
            ApiAddress = apiAddress,
            ApiPort = apiPort,
            InsecureHttp = insecure,
            ClientCaFile = clientCa,
            ApiTlsCertFile = tlsCert,
            ApiTlsKeyFile = tlsKey,
            ApiTokenAuthFile = tokenFile,
            RemotingTls = remotingTls,
            RemotingCertFile = remotingCert,
            RemotingKeyFile = remotingKey,
            RemotingCaFile = remotingCa,
            EncryptionProviderConfig = encryptionConfig,
            AuditPolicyFile = auditPolicy,
            AuditLogPath = auditLog,
            AuditLogMaxSize = auditMaxSize,
            AuditLogMaxBackup = auditMaxBackup,
            MetricsPort = metricsPort,
            CmdAddress = cmdAddress,
            CmdPort = cmdPort,
            CmdToken = cmdToken,
            DataDirectory = dataDir,
            Persistence = string.IsNullOrEmpty(postgres) ? PersistenceKind.Sqlite : PersistenceKind.Postgres,
            PostgresConnectionString = string.IsNullOrEmpty(postgres) ? null : postgres,
            Failover = failover,
            ConfigFiles = configFiles,
            Runtime = runtime,
            ContainerRuntimeEndpoint = endpoint,
            ClusterDomain = clusterDomain,
            ProxyMode = proxyMode,
        };
    }

    /// <summary>Checks that need the machine: a usable data directory and free ports. One-line errors.</summary>
    public static void Preflight(NodeOptions node)
    {
        try
        {
            if (File.Exists(node.DataDirectory))
                throw new NodeConfigException($"data directory '{node.DataDirectory}' is a file, not a directory");
            Actors.Security.PrivateFiles.EnsureDirectory(node.DataDirectory);
            if (node.Persistence == PersistenceKind.Sqlite)
            {
                // Secrets sit in the store: 0600 from the start (SQLite gives its -wal/-shm files the database's mode).
                if (!File.Exists(node.SqliteFile)) Actors.Security.PrivateFiles.CreateIfAbsent(node.SqliteFile);
                foreach (var f in new[] { node.SqliteFile, node.SqliteFile + "-wal", node.SqliteFile + "-shm" }) Actors.Security.PrivateFiles.Restrict(f);
            }
            var probe = Path.Combine(node.DataDirectory, $".probe-{Environment.ProcessId}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new NodeConfigException($"data directory '{node.DataDirectory}' is not usable: {e.Message}");
        }

        if (node.PodRoutes && node.Runtime != "cri" && node.PodCidr is not null)
        {
            // The process runtime's pods bind their IPs in this range: make it local before the kubelet starts (AnyIP on lo).
            try
            {
                Actors.PodNetwork.PodRouteTable.EnsureLocal(node.PodCidr);
            }
            catch (InvalidOperationException e)
            {
                throw new NodeConfigException($"--pod-routes needs CAP_NET_ADMIN (root, or a container with NET_ADMIN): {e.Message}");
            }
            if (!IsLocalPodCidr(node.PodCidr))
                throw new NodeConfigException($"--pod-routes: no address of --pod-cidr {node.PodCidr} can be bound after `ip route replace local {node.PodCidr} dev lo`");
        }
        if (node.RemotingPort != 0) EnsureFree(node.NodeIp, node.RemotingPort, "--port (remoting)");
        if (node.CmdPort != 0) EnsureFree(node.CmdAddress, node.CmdPort, "--cmd-port");
        if (node.MetricsPort != 0) EnsureFree(node.NodeIp, node.MetricsPort, "--metrics-port");
        // An operator's own serving certificate with nothing to check callers against would let anyone in.
        if (node.ControlPlane && !IPAddress.IsLoopback(node.ApiAddress) && node.ApiTls && node.ApiTlsCertFile is not null
            && node.ClientCaFile is null && node.ApiTokenAuthFile is null && !File.Exists(Actors.Security.ClusterCa.CertFile(node.DataDirectory)))
            throw new NodeConfigException(
                $"refusing to serve the API on non-loopback {node.ApiAddress} without authentication: give --client-ca-file or --token-auth-file " +
                "with --tls-cert-file (or leave the certificate to the cluster CA)");
    }

    private static string? FullPathOrNull(string? path) => string.IsNullOrWhiteSpace(path) ? null : Path.GetFullPath(path);

    /// <summary>Loads the PEM pair now, so a bad file is a one-line error at start, not a failure on the first connection.</summary>
    public static System.Security.Cryptography.X509Certificates.X509Certificate2 LoadCertificate(string certFile, string keyFile, string flags)
    {
        try
        {
            return System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(certFile, keyFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            throw new NodeConfigException($"{flags}: cannot load '{certFile}' with '{keyFile}': {e.Message}");
        }
    }

    /// <summary>A PEM certificate and its key, given together or not at all, checked to load.</summary>
    private static (string? Cert, string? Key) CertificatePair(string? cert, string certFlag, string? key, string keyFlag)
    {
        if ((cert is null) != (key is null))
            throw new NodeConfigException($"{certFlag} and {keyFlag} go together: give both or neither");
        if (cert is not null && key is not null)
            LoadCertificate(cert, key, $"{certFlag}/{keyFlag}");
        return (cert, key);
    }

    private static string? CaBundle(string? file, string flag)
    {
        if (file is not null) LoadCa(file, flag);
        return file;
    }

    private static void LoadCa(string file, string flag)
    {
        try
        {
            Actors.Security.ClientCertificateVerifier.FromPemFile(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or System.Security.Cryptography.CryptographicException)
        {
            throw new NodeConfigException($"{flag} '{file}': {e.Message}");
        }
    }

    private static void LoadTokens(string file)
    {
        try
        {
            Actors.Security.StaticTokenFile.Load(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            throw new NodeConfigException($"--token-auth-file '{file}': {e.Message}");
        }
    }

    private static void EnsureFree(IPAddress ip, int port, string what)
    {
        using var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(ip, port));
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            throw new NodeConfigException($"{what}: {ip}:{port} is already in use");
        }
        catch (SocketException e)
        {
            throw new NodeConfigException($"{what}: cannot bind {ip}:{port}: {e.Message}");
        }
    }

    private static void ValidateSeed(string seed)
    {
        Akka.Actor.Address address;
        try
        {
            address = Akka.Actor.Address.Parse(seed);
        }
        catch (Exception)
        {
            throw new NodeConfigException($"--seed '{seed}' is not an Akka address like akka.tcp://akkakube@127.1.0.1:4053");
        }
        if (address.System != Actors.AkkaKubeNames.SystemName)
            throw new NodeConfigException($"--seed '{seed}': actor system must be '{Actors.AkkaKubeNames.SystemName}', not '{address.System}'");
        if (address.Host is null || address.Port is null or <= 0 or > 65535)
            throw new NodeConfigException($"--seed '{seed}' needs a host and a port");
    }

    private static IPAddress ParseIp(string s, string flag) =>
        IPAddress.TryParse(s, out var ip) ? ip : throw new NodeConfigException($"{flag} '{s}' is not an IP address");

    private static int CheckPort(int port, string flag, bool allowZero) =>
        port is >= 1 and <= 65535 || (allowZero && port == 0) ? port : throw new NodeConfigException($"{flag} {port} is not a valid port");

    private static bool IsPodCidr(string s)
    {
        var parts = s.Split('/');
        if (parts.Length != 2 || parts[1] != "24" || !IPAddress.TryParse(parts[0], out var ip)) return false;
        var b = ip.GetAddressBytes();
        return b.Length == 4 && b[0] == 127 && (b[1] & 0xC0) == 64 && b[3] == 0;
    }

    /// <summary>
    /// A /24 outside 127/8 whose addresses this host treats as its own (a local route, as each node's network namespace of
    /// `up --hosts netns` has): the process runtime's pods can bind their IPs there as they bind 127.64.k.x on loopback.
    /// </summary>
    private static bool IsLocalPodCidr(string s)
    {
        var parts = s.Split('/');
        if (parts.Length != 2 || parts[1] != "24" || !IPAddress.TryParse(parts[0], out var ip)) return false;
        var b = ip.GetAddressBytes();
        if (b.Length != 4 || b[3] != 0 || b[0] == 127) return false;
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(new IPAddress([b[0], b[1], b[2], 2]), 0));
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    /// <summary>A /24 in 10.244.0.0/16: the pod CIDRs of cri nodes (bridge + host-local IPAM per node).</summary>
    private static bool IsCriPodCidr(string s)
    {
        var parts = s.Split('/');
        if (parts.Length != 2 || parts[1] != "24" || !IPAddress.TryParse(parts[0], out var ip)) return false;
        var b = ip.GetAddressBytes();
        return b.Length == 4 && b[0] == 10 && b[1] == 244 && b[3] == 0;
    }

    public static bool IsDns1123Label(string s) =>
        s.Length is > 0 and <= 63 && char.IsAsciiLetterLower(s[0]) | char.IsAsciiDigit(s[0]) &&
        char.IsAsciiLetterLower(s[^1]) | char.IsAsciiDigit(s[^1]) &&
        s.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');
}
