using System.Net;
using System.Net.Sockets;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Cmd;
using AkkaKube.Actors.Cmd.Palettes;
using AkkaKube.Actors.Security;

namespace AkkaKube.Cli;

/// <summary>What `akkakube up` was asked for.</summary>
public sealed record UpOptions
{
    public int ControlPlanes { get; init; } = 3;
    public int Workers { get; init; } = 3;
    /// <summary>Simulated kubelets, run by extra hollow-only worker processes spread over the zones (see ClusterLayout).</summary>
    public int HollowNodes { get; init; }
    public IReadOnlyList<string> Zones { get; init; } = ["zone-a", "zone-b", "zone-c"];
    public required string DataDirectory { get; init; }
    /// <summary>The cluster's name in the per-user registry (`up --name`; ClusterRegistry), null for tests' clusters.</summary>
    public string? Name { get; init; }
    /// <summary>Merge the context akkakube-NAME into the user's kubeconfig (`up` without --no-kubeconfig).</summary>
    public bool Kubeconfig { get; init; }
    public int ApiPort { get; init; } = 6443;
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(180);
    /// <summary>Which share of the loopback ranges the cluster uses (0–63; <see cref="AddressBlocks"/>): clusters side by side need different blocks.</summary>
    public int AddressBlock { get; init; }
    /// <summary>Extra flags passed to every node (tests use this for e.g. --config).</summary>
    public IReadOnlyList<string> ExtraNodeArgs { get; init; } = [];
    /// <summary>Plain HTTP without credentials instead of HTTPS with the cluster CA (`up --insecure-http`; warned about).</summary>
    public bool InsecureHttp { get; init; }
    /// <summary>Akka remoting over mutual TLS with the cluster CA (`up --remoting-tls`); default plain TCP.</summary>
    public bool RemotingTls { get; init; }
    /// <summary>`up --audit-policy-file/--audit-log-path`: every control-plane node audits; with several, each writes PATH with "-NODE" before its extension.</summary>
    public string? AuditPolicyFile { get; init; }
    public string? AuditLogPath { get; init; }
    /// <summary>PostgreSQL connection string for the journal of every node (`--postgres`); null = SQLite in the data directory.</summary>
    public string? Postgres { get; init; }
    /// <summary>process (default) or containerd: each worker gets its own containerd and runs the cri runtime (root).</summary>
    public string Runtime { get; init; } = "process";
    /// <summary>loopback (default: every node on 127.1.b.k of this host) or netns (root: every node in its own network namespace; <see cref="HostNetwork"/>).</summary>
    public string Hosts { get; init; } = "loopback";
    /// <summary>The /16 of a netns cluster (`up --hosts-cidr`).</summary>
    public string HostsCidr { get; init; } = HostNetwork.DefaultCidr;
}

/// <summary>A member as a node's command host reports it (`cluster show`).</summary>
public sealed record MemberView(string Address, string Roles, string Zone, string Status, string Reachability);

/// <summary>
/// Starts, watches and stops a local cluster of node processes. Shared by the `akkakube` commands and the
/// tests' LocalCluster fixture, so the tests exercise exactly what users run.
/// </summary>
public static class LocalClusterLauncher
{
    public static string LogDirectory(string dataDir) => Path.Combine(dataDir, "logs");
    /// <summary>The audit log file of one control-plane node: the path itself with one control plane, else PATH with "-NODE" before the extension.</summary>
    public static string AuditLogOf(string path, string node, int controlPlanes) => controlPlanes <= 1 ? path
        : Path.Combine(Path.GetDirectoryName(path) ?? "", $"{Path.GetFileNameWithoutExtension(path)}-{node}{Path.GetExtension(path)}");

    public static string KubeconfigPath(string dataDir) => Path.Combine(dataDir, "kubeconfig");

    /// <summary>Checks that <paramref name="dataDir"/> can hold a cluster; returns its full path.</summary>
    public static string PrepareDataDirectory(string dataDir)
    {
        var full = Path.GetFullPath(dataDir);
        if (File.Exists(full)) throw new CliException($"data directory '{full}' is a file, not a directory");
        try
        {
            PrivateFiles.EnsureDirectory(full);
            PrivateFiles.EnsureDirectory(LogDirectory(full));
            var probe = Path.Combine(full, $".probe-{Environment.ProcessId}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"data directory '{full}' is not usable: {e.Message}");
        }
        return full;
    }

    /// <summary>The nodes of <paramref name="state"/> whose process is still alive.</summary>
    public static IReadOnlyList<NodeState> Alive(ClusterState state) =>
        state.Nodes.Where(n => NodeProcesses.IsNodeAlive(n.Pid, n.Name)).ToList();

    /// <summary>
    /// Starts every node detached and returns at once with their PIDs (also written to DATA/cluster.json).
    /// Refuses a data directory with a running cluster and an API port that something else holds.
    /// </summary>
    /// <param name="progress">Steps worth a line while it starts (containerd nodes: the images built and loaded).</param>
    public static ClusterState Start(UpOptions options, Action<string>? progress = null)
    {
        var nodes = ClusterLayout.Plan(options.ControlPlanes, options.Workers, options.Zones, options.HollowNodes, options.AddressBlock);
        if (options.ApiPort is < 1 or > 65535) throw new CliException($"--api-port {options.ApiPort} is not a valid port");
        var netns = options.Hosts switch
        {
            "loopback" => false,
            "netns" => true,
            _ => throw new CliException($"--hosts '{options.Hosts}' must be loopback or netns"),
        };
        var withContainerd = options.Runtime == "containerd";
        if (options.Runtime is not ("process" or "containerd"))
            throw new CliException($"--runtime '{options.Runtime}' must be process or containerd");
        if (netns)
        {
            if (HostNetwork.Missing() is { } why) throw new CliException($"--hosts netns {why}");
            if (withContainerd || options.HollowNodes > 0) throw new CliException("--hosts netns runs the process runtime only (no --runtime containerd, no --hollow-nodes)");
            HostNetwork.ParseCidr(options.HostsCidr);
        }
        var dataDir = PrepareDataDirectory(options.DataDirectory);
        var existing = ClusterState.Load(dataDir);
        if (existing is not null && Alive(existing) is { Count: > 0 } running)
            throw new CliException($"a cluster is already running in '{dataDir}' ({running.Count} node processes, e.g. {running[0].Name} pid {running[0].Pid}); run `akkakube down` first");
        // netns: each apiserver listens on its own host's address, so the port is free there by construction.
        if (!netns)
            EnsureFree(IPAddress.Loopback, options.ApiPort,
                $"the API port 127.0.0.1:{options.ApiPort} is already in use by another process; stop it or choose --api-port");
        if (withContainerd && (ContainerdNode.Missing() ?? ProjectImages.Missing()) is { } missing)
            throw new CliException($"--runtime containerd {missing}");
        var postgres = string.IsNullOrWhiteSpace(options.Postgres) ? null : options.Postgres;
        if (postgres is not null) PostgresCheck.Check(postgres, TimeSpan.FromSeconds(10));
        // The nodes read the connection string (with its password) from a 0600 file: never on a command line, in ps or in a log.
        var postgresFile = Path.Combine(dataDir, "postgres.conn");
        if (postgres is not null) PrivateFiles.WriteAllText(postgresFile, postgres + "\n");

        var binary = NodeProcesses.NodeBinary();
        var hosts = netns ? HostNetwork.Plan(options.HostsCidr, dataDir, options.Name, nodes).ToDictionary(h => h.Node) : null;
        if (hosts is not null) HostNetwork.Create(dataDir, options.HostsCidr, hosts.Values.ToList());
        string IpOf(PlannedNode n) => hosts?[n.Name].Ip ?? n.Ip;
        // The CA and the admin kubeconfig exist before any node starts: the nodes issue their certificates from it.
        WriteKubeconfig(dataDir, options.ApiPort, options.InsecureHttp, hosts is null ? null : IpOf(nodes.First(n => n.ControlPlane)));
        CmdTokenFile.LoadOrCreate(dataDir);
        // Bearer tokens for what cannot present the admin client certificate (the web view in a browser).
        string? tokenFile = null;
        if (!options.InsecureHttp)
        {
            WebViewToken.LoadOrCreate(dataDir);
            tokenFile = WebViewToken.PathIn(dataDir);
        }
        var blockArgs = new List<string>();
        if (options.AddressBlock != 0 || withContainerd)
        {
            // containerd pods have their own loopback: their cluster's Service addresses are routable private ones.
            var networkConf = Path.Combine(dataDir, "address-block.conf");
            File.WriteAllText(networkConf, AddressBlocks.Hocon(options.AddressBlock, cri: withContainerd));
            blockArgs.AddRange(["--config", networkConf]);
        }
        var ports = nodes.ToDictionary(n => n.Name, n => hosts is not null
            ? (Remoting: HostNetwork.RemotingPort, Cmd: HostNetwork.CmdPort, Metrics: HostNetwork.MetricsPort)
            : (Remoting: FreePort(IPAddress.Parse(n.Ip)), Cmd: FreePort(IPAddress.Loopback), Metrics: FreePort(IPAddress.Parse(n.Ip))));
        var seeds = nodes.Where(n => n.ControlPlane)
            .Select(n => Actors.AkkaKubeNames.Remoting.NodeAddress(IpOf(n), ports[n.Name].Remoting, options.RemotingTls)).ToList();

        var states = new List<NodeState>();
        var startedContainerds = new List<(ContainerdNode Node, int Pid)>();
        IReadOnlyList<string>? projectImages = null;
        ClusterState Snapshot() => new()
        {
            Name = options.Name, DataDirectory = dataDir, ApiPort = options.ApiPort, AddressBlock = options.AddressBlock, Nodes = states.ToList(),
            Hosts = hosts is null ? null : options.Hosts, HostsCidr = hosts is null ? null : options.HostsCidr,
        };
        try
        {
            foreach (var n in nodes)
            {
                var host = hosts?[n.Name];
                var (ip, podCidr, cmdHost) = host is null ? (n.Ip, n.PodCidr, "127.0.0.1") : (host.Ip, host.PodCidr, host.Ip);
                var args = new List<string>
                {
                    "--node-name", n.Name, "--roles", n.Roles, "--zone", n.Zone, "--node-ip", ip,
                    "--port", ports[n.Name].Remoting.ToString(), "--pod-cidr", podCidr, "--data-dir", dataDir,
                    "--api-port", options.ApiPort.ToString(), "--cmd-address", cmdHost, "--cmd-port", ports[n.Name].Cmd.ToString(),
                    "--metrics-port", ports[n.Name].Metrics.ToString(),
                };
                // Its own host: the apiserver listens on the node's address (as on a machine), not on a shared loopback port.
                if (host is not null && n.ControlPlane) args.AddRange(["--api-address", host.Ip]);
                // … and routes its pods to the other hosts itself (as it must across real machines).
                if (host is not null) args.Add("--pod-routes");
                foreach (var s in seeds) args.AddRange(["--seed", s]);
                ContainerdNode? containerd = null;
                var containerdPid = 0;
                if (withContainerd && n.Roles.Split(',').Contains("worker") && n.HollowNodes == 0)
                {
                    containerd = new ContainerdNode(Path.Combine(dataDir, "containerd", n.Name), n.Name, ContainerdNode.PodCidrFor(n.Ordinal), $"akk{options.AddressBlock}n{n.Ordinal}");
                    containerdPid = containerd.Start();
                    startedContainerds.Add((containerd, containerdPid));
                    containerd.WaitReadyAsync(TimeSpan.FromSeconds(60)).GetAwaiter().GetResult();
                    // The sandbox image first: no pod starts without it; then the project's own (akkakube/busybox, echo).
                    if (projectImages is null)
                    {
                        progress?.Invoke("building the project's images for containerd (akkakube/pause, akkakube/busybox, akkakube/echo)");
                        projectImages = ProjectImages.BuildAsync(Path.Combine(dataDir, "images")).GetAwaiter().GetResult();
                    }
                    foreach (var archive in projectImages) containerd.ImportAsync(archive).GetAwaiter().GetResult();
                    progress?.Invoke($"{n.Name}: containerd ready, the project's images loaded (more with `akkakube image load`)");
                    args[args.IndexOf("--pod-cidr") + 1] = containerd.PodCidr;
                    args.AddRange(["--runtime", "cri", "--container-runtime-endpoint", containerd.Endpoint]);
                }
                if (n.HollowNodes > 0) args.AddRange(["--hollow-nodes", n.HollowNodes.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
                args.AddRange(blockArgs);
                if (postgres is not null) args.AddRange(["--postgres-file", postgresFile]);
                if (options.InsecureHttp) args.Add("--insecure-http");
                if (tokenFile is not null && n.ControlPlane) args.AddRange(["--token-auth-file", tokenFile]);
                if (options.RemotingTls) args.Add("--remoting-tls");
                if (options.AuditPolicyFile is not null && options.AuditLogPath is not null && n.ControlPlane)
                    args.AddRange(["--audit-policy-file", options.AuditPolicyFile, "--audit-log-path", AuditLogOf(options.AuditLogPath, n.Name, options.ControlPlanes)]);
                args.AddRange(options.ExtraNodeArgs);
                var command = binary.Concat(args).ToList();
                if (host is not null) command = HostNetwork.InNamespace(host.Namespace, command).ToList();
                var log = Path.Combine(LogDirectory(dataDir), $"{n.Name}.log");
                File.AppendAllText(log, $"---- {DateTime.UtcNow:O} akkakube up: {string.Join(' ', command)}\n");
                var pid = NodeProcesses.StartDetached(command, log);
                states.Add(new NodeState
                {
                    Name = n.Name, Ordinal = n.Ordinal, Roles = n.Roles, Zone = n.Zone, Ip = ip, CmdHost = host is null ? null : cmdHost, Namespace = host?.Namespace,
                    Port = ports[n.Name].Remoting, CmdPort = ports[n.Name].Cmd, MetricsPort = ports[n.Name].Metrics, PodCidr = podCidr,
                    LogFile = log, Command = command, Pid = pid, HollowNodes = n.HollowNodes,
                    ContainerdDirectory = containerd?.Directory, ContainerdPid = containerdPid, RemotingTls = options.RemotingTls,
                });
                Snapshot().Save();
            }
        }
        catch
        {
            Stop(Snapshot(), TimeSpan.FromSeconds(5));
            foreach (var (node, pid) in startedContainerds) ContainerdNode.Stop(node.Directory, node.NodeName, pid);
            if (hosts is not null) HostNetwork.Remove(dataDir);
            throw;
        }
        return Snapshot();
    }

    /// <summary>
    /// Waits until every worker (and every hollow kubelet of the hollow-only workers) has registered its Node and
    /// reports Ready through the API, so that `kubectl get nodes` right after `up` shows them. Returns the number of
    /// Ready Nodes.
    /// </summary>
    public static async Task<int> WaitUntilNodesReadyAsync(ClusterState state, TimeSpan timeout, Action<int, int>? progress = null, CancellationToken ct = default)
    {
        var workers = state.Nodes.SelectMany(n => n.NodeNames).ToHashSet(StringComparer.Ordinal);
        using var http = ApiClient(state.DataDirectory, TimeSpan.FromSeconds(30));
        var deadline = DateTime.UtcNow + timeout;
        var ready = 0;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            foreach (var n in state.Nodes)
                if (!NodeProcesses.IsNodeAlive(n.Pid, n.Name))
                    throw new CliException($"node {n.Name} (pid {n.Pid}) exited during start-up: {LastError(n.LogFile)} (log: {n.LogFile})");
            var nodes = await ListNodesAsync(http, ct);
            if (nodes is not null) ready = nodes.Count(n => n.Ready && workers.Contains(n.Name));
            progress?.Invoke(ready, workers.Count);
            if (ready >= workers.Count) return ready;
            if (DateTime.UtcNow > deadline)
                throw new CliException($"only {ready} of {workers.Count} worker Nodes became Ready within {timeout.TotalSeconds:0} s; see the logs in {LogDirectory(state.DataDirectory)}");
            await Task.Delay(250, ct);
        }
    }

    /// <summary>
    /// Waits (at most <paramref name="timeout"/>) for the serviceaccount controller to create default/default: until then
    /// the ServiceAccount admission refuses pods in "default" (`kubectl run` right after `up` would fail). False when it
    /// did not appear in time (e.g. the controllers are switched off); the caller says so and goes on.
    /// </summary>
    public static async Task<bool> WaitForDefaultServiceAccountAsync(ClusterState state, TimeSpan timeout, CancellationToken ct = default)
    {
        using var http = ApiClient(state.DataDirectory, TimeSpan.FromSeconds(10));
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var r = await http.GetAsync("/api/v1/namespaces/default/serviceaccounts/default", ct);
                if (r.IsSuccessStatusCode) return true;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
            }
            await Task.Delay(250, ct);
        }
        return false;
    }

    /// <summary>One Node as the API reports it.</summary>
    /// <param name="ProxyMode">The node's kube-proxy mode (annotation akkakube.io/proxy-mode), and why nftables is unavailable when it is.</param>
    public sealed record NodeView(string Name, string Zone, bool Ready, bool Hollow, string? ProxyMode = null, string? ProxyModeUnavailable = null);

    /// <summary>GET /api/v1/nodes; null when the API does not answer (yet).</summary>
    public static async Task<IReadOnlyList<NodeView>?> ListNodesAsync(HttpClient http, CancellationToken ct = default)
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("/api/v1/nodes", ct));
            var result = new List<NodeView>();
            if (!doc.RootElement.TryGetProperty("items", out var items) || items.ValueKind != System.Text.Json.JsonValueKind.Array) return result;
            foreach (var n in items.EnumerateArray())
            {
                var meta = n.GetProperty("metadata");
                var name = meta.TryGetProperty("name", out var nm) ? nm.GetString() ?? "" : "";
                string? Label(string key) => meta.TryGetProperty("labels", out var l) && l.ValueKind == System.Text.Json.JsonValueKind.Object
                                             && l.TryGetProperty(key, out var v) ? v.GetString() : null;
                var ready = n.TryGetProperty("status", out var st) && st.TryGetProperty("conditions", out var cs) && cs.ValueKind == System.Text.Json.JsonValueKind.Array
                            && cs.EnumerateArray().Any(c => c.TryGetProperty("type", out var t) && t.GetString() == "Ready"
                                                            && c.TryGetProperty("status", out var s) && s.GetString() == "True");
                string? Annotation(string key) => meta.TryGetProperty("annotations", out var a) && a.ValueKind == System.Text.Json.JsonValueKind.Object
                                                 && a.TryGetProperty(key, out var v) ? v.GetString() : null;
                result.Add(new NodeView(name, Label("topology.kubernetes.io/zone") ?? "", ready, Label("akkakube.io/hollow") == "true",
                    Annotation(Actors.Proxy.ProxyModes.ModeAnnotation), Annotation(Actors.Proxy.ProxyModes.UnavailableAnnotation)));
            }
            return result;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>
    /// Waits until every node of <paramref name="state"/> is an Up member (asking the nodes' command hosts), reporting
    /// (up, total) as it goes. A node process that exits meanwhile is an error naming it and its log.
    /// </summary>
    public static async Task<IReadOnlyList<MemberView>> WaitUntilUpAsync(ClusterState state, TimeSpan timeout, Action<int, int>? progress = null, CancellationToken ct = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        var expected = state.Nodes.Select(n => n.Address).ToHashSet();
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            foreach (var n in state.Nodes)
                if (!NodeProcesses.IsNodeAlive(n.Pid, n.Name))
                    throw new CliException($"node {n.Name} (pid {n.Pid}) exited during start-up: {LastError(n.LogFile)} (log: {n.LogFile})");
            var members = await QueryMembersAsync(state, TimeSpan.FromSeconds(3), ct);
            if (members is not null)
            {
                var up = members.Count(m => expected.Contains(m.Address) && m.Status == "Up");
                progress?.Invoke(up, expected.Count);
                if (up == expected.Count) return members;
            }
            if (DateTime.UtcNow > deadline)
                throw new CliException($"the cluster did not come Up within {timeout.TotalSeconds:0} s ({members?.Count(m => m.Status == "Up") ?? 0}/{expected.Count} Up); see the logs in {LogDirectory(state.DataDirectory)}");
            await Task.Delay(500, ct);
        }
    }

    /// <summary>
    /// Waits until the store's shards are spread evenly over the live control-plane nodes and stay so between two
    /// looks (`cluster shards -t store`): shards allocated while the first control plane was alone move to the others
    /// as they join, and a partition in the middle of such a move answers nothing for a while. Returns false (no
    /// error) when the spread did not settle within <paramref name="timeout"/>: the cluster works, only less evenly.
    /// </summary>
    public static async Task<bool> WaitUntilStoreBalancedAsync(ClusterState state, TimeSpan timeout, CancellationToken ct = default)
    {
        var controlPlanes = Alive(state).Where(n => n.ControlPlane).ToList();
        if (controlPlanes.Count < 2) return true;
        var deadline = DateTime.UtcNow + timeout;
        string? previous = null;
        while (DateTime.UtcNow < deadline)
        {
            ct.ThrowIfCancellationRequested();
            var spread = await StoreShardSpreadAsync(state, controlPlanes, ct);
            if (spread is not null && spread.Count == controlPlanes.Count && spread.Values.Max() - spread.Values.Min() <= 1)
            {
                var key = string.Join(",", spread.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"));
                if (key == previous) return true;
                previous = key;
            }
            else previous = null;
            await Task.Delay(1000, ct);
        }
        return false;
    }

    /// <summary>Store shards per control-plane node address, from the first command host that answers; null when none does.</summary>
    private static async Task<Dictionary<string, int>?> StoreShardSpreadAsync(ClusterState state, IReadOnlyList<NodeState> controlPlanes, CancellationToken ct)
    {
        foreach (var n in controlPlanes)
        {
            try
            {
                var replies = await CmdClient.RunAsync(n.CmdAddress, n.CmdPort, new CmdRequest("cluster", "shards", ["-t", Actors.AkkaKubeNames.Actors.Store]),
                    TimeSpan.FromSeconds(10), ct, state.CmdToken);
                var table = replies.FirstOrDefault(r => r.Type == CmdReply.Kinds.Table);
                if (table?.Rows is null || table.Columns is null) continue;
                var cols = table.Columns.ToList();
                int node = cols.IndexOf("node"), shards = cols.IndexOf("shards");
                if (node < 0 || shards < 0) continue;
                var addresses = controlPlanes.Select(c => c.Address).ToHashSet(StringComparer.Ordinal);
                return table.Rows.Where(r => addresses.Contains(r[node]))
                    .ToDictionary(r => r[node], r => int.TryParse(r[shards], out var v) ? v : 0, StringComparer.Ordinal);
            }
            catch (CliException)
            {
            }
        }
        return null;
    }

    /// <summary>`cluster show` from the first node whose command host answers (control-plane first); null when none does.</summary>
    public static async Task<IReadOnlyList<MemberView>?> QueryMembersAsync(ClusterState state, TimeSpan timeout, CancellationToken ct = default)
    {
        foreach (var n in state.Nodes.OrderBy(n => n.ControlPlane ? 0 : 1).ThenBy(n => n.Ordinal))
        {
            if (!NodeProcesses.IsNodeAlive(n.Pid, n.Name)) continue;
            try
            {
                var replies = await CmdClient.RunAsync(n.CmdAddress, n.CmdPort, new CmdRequest("cluster", "show"), timeout, ct, state.CmdToken);
                var table = replies.FirstOrDefault(r => r.Type == CmdReply.Kinds.Table);
                if (table?.Rows is null) continue;
                var members = ParseMembers(table);
                if (members.Count > 0) return members;
            }
            catch (CliException)
            {
            }
        }
        return null;
    }

    public static IReadOnlyList<MemberView> ParseMembers(CmdReply table)
    {
        var cols = table.Columns!.ToList();
        int Col(string name) => cols.IndexOf(name);
        return table.Rows!.Select(r => new MemberView(r[Col("address")], r[Col("roles")], r[Col("zone")], r[Col("status")], r[Col("reachability")])).ToList();
    }

    /// <summary>
    /// SIGTERM the live nodes one at a time, each given up to <paramref name="timeout"/> to leave the cluster before
    /// SIGKILL; returns the names of nodes that had to be killed. Workers go first and the oldest control-plane node
    /// last: a node that leaves while its peers still run closes its associations cleanly (nodes stopping at once
    /// race and log "Disassociated" errors), and the singletons need not move until the last control-plane node stops.
    /// </summary>
    public static IReadOnlyList<string> Stop(ClusterState state, TimeSpan timeout)
    {
        var killed = new List<string>();
        var order = Alive(state)
            .OrderBy(n => n.Roles.Contains(AkkaKube.Actors.AkkaKubeNames.Roles.ControlPlane, StringComparison.Ordinal) ? 1 : 0)
            .ThenByDescending(n => n.Ordinal);
        foreach (var n in order)
        {
            NodeProcesses.Signal(n.Pid, NodeProcesses.SigTerm);
            if (WaitForExit(n, timeout)) continue;
            NodeProcesses.Signal(n.Pid, NodeProcesses.SigKill);
            killed.Add(n.Name);
            if (!WaitForExit(n, TimeSpan.FromSeconds(10)))
                throw new CliException($"node process still alive after SIGKILL: {n.Name} (pid {n.Pid})");
        }
        foreach (var n in state.Nodes.Where(n => n.ContainerdDirectory is not null)) ContainerdNode.Stop(n.ContainerdDirectory!, n.Name, n.ContainerdPid);
        // The namespaces go once their processes are gone (a pod process left in one would keep it alive in the kernel).
        HostNetwork.Remove(state.DataDirectory);
        return killed;
    }

    private static bool WaitForExit(NodeState node, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (NodeProcesses.IsNodeAlive(node.Pid, node.Name))
        {
            if (DateTime.UtcNow >= deadline) return false;
            Thread.Sleep(100);
        }
        return true;
    }

    /// <summary>
    /// DATA/kubeconfig (0600) for kubectl and client libraries: the API on 127.0.0.1 over HTTPS with the cluster CA
    /// (certificate-authority-data) and a fresh admin client certificate (CN akkakube-admin, O system:masters);
    /// with <paramref name="insecureHttp"/> plain HTTP and no credentials.
    /// </summary>
    public static string WriteKubeconfig(string dataDir, int apiPort, bool insecureHttp = false, string? apiHost = null)
    {
        var path = KubeconfigPath(dataDir);
        var cluster = new k8s.KubeConfigModels.ClusterEndpoint { Server = $"{(insecureHttp ? "http" : "https")}://{apiHost ?? "127.0.0.1"}:{apiPort}" };
        var user = new k8s.KubeConfigModels.UserCredentials();
        if (!insecureHttp)
        {
            using var ca = ClusterCa.LoadOrCreate(dataDir);
            using var admin = ca.Issue(UserInfo.AdminName, [UserInfo.MastersGroup], CertificateUse.Client, validity: TimeSpan.FromDays(365));
            var (certificate, key) = ClusterCa.ToPem(admin);
            cluster.CertificateAuthorityData = Base64(ca.CertificatePem);
            user.ClientCertificateData = Base64(certificate);
            user.ClientKeyData = Base64(key);
        }
        var config = new k8s.KubeConfigModels.K8SConfiguration
        {
            ApiVersion = "v1",
            Kind = "Config",
            Clusters = [new k8s.KubeConfigModels.Cluster { Name = "akkakube", ClusterEndpoint = cluster }],
            Users = [new k8s.KubeConfigModels.User { Name = UserInfo.AdminName, UserCredentials = user }],
            Contexts = [new k8s.KubeConfigModels.Context { Name = "akkakube", ContextDetails = new k8s.KubeConfigModels.ContextDetails { Cluster = "akkakube", User = UserInfo.AdminName, Namespace = "default" } }],
            CurrentContext = "akkakube",
        };
        PrivateFiles.WriteAllText(path, k8s.KubernetesYaml.Serialize(config));
        return path;

        static string Base64(string pem) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(pem));
    }

    /// <summary>An HttpClient on the cluster's API with the credentials of DATA/kubeconfig (as kubectl would use them).</summary>
    public static HttpClient ApiClient(string dataDir, TimeSpan timeout, Action<SocketsHttpHandler>? configure = null) =>
        KubeconfigCredentials.Load(KubeconfigPath(dataDir)).CreateClient(timeout, configure);

    private static string LastError(string logFile)
    {
        try
        {
            var lines = File.ReadAllLines(logFile);
            var line = lines.LastOrDefault(l => l.Contains("error", StringComparison.OrdinalIgnoreCase) || l.Contains("fail", StringComparison.OrdinalIgnoreCase))
                       ?? lines.LastOrDefault(l => l.Trim().Length > 0) ?? "no output";
            return line.Trim().Length > 200 ? line.Trim()[..200] : line.Trim();
        }
        catch (IOException)
        {
            return "no log";
        }
    }

    /// <summary>
    /// A free port below the kernel's ephemeral range: ports the OS hands out for port 0 come from that range,
    /// and so do the source ports of outgoing connections, which could take a chosen port before the node binds it.
    /// </summary>
    public static int FreePort(IPAddress ip)
    {
        var (low, high) = PortRangeBelowEphemeral();
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var port = Random.Shared.Next(low, high);
            // A port handed out is free until its user binds it: never hand it out twice from this process (parallel
            // tests each start clusters; a second taker would find it bound, "address already in use").
            lock (HandedOut)
            {
                if (HandedOut.Count > (high - low) / 2) HandedOut.Clear();
                if (!HandedOut.Add(port)) continue;
            }
            using var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.Bind(new IPEndPoint(ip, port));
                return port;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse) { }
            catch (SocketException e)
            {
                throw new CliException($"cannot bind {ip}: {e.Message} (local clusters need the 127.0.0.0/8 loopback range)");
            }
        }
        throw new CliException($"no free port on {ip} between {low} and {high}");
    }

    private static readonly HashSet<int> HandedOut = [];

    /// <summary>[10000, start of /proc/sys/net/ipv4/ip_local_port_range), or 20000-32767 when it cannot be read.</summary>
    public static (int Low, int High) PortRangeBelowEphemeral()
    {
        try
        {
            var parts = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (int.TryParse(parts[0], out var start) && start > 12000) return (10000, start);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or IndexOutOfRangeException) { }
        return (20000, 32768);
    }

    private static void EnsureFree(IPAddress ip, int port, string message)
    {
        using var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        // SO_REUSEADDR: ignore TIME_WAIT leftovers; a socket still listening on the port makes Bind fail all the same.
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        try
        {
            socket.Bind(new IPEndPoint(ip, port));
        }
        catch (SocketException)
        {
            throw new CliException(message);
        }
    }

    internal static IReadOnlyList<string> ShowColumns => ClusterPalette.ShowColumns;
}
