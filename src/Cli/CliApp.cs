using AkkaKube.Actors.Security;
using System.CommandLine;
using System.Runtime.InteropServices;
using AkkaKube.Actors.Cmd;
using Spectre.Console;

namespace AkkaKube.Cli;

/// <summary>The `akkakube` command: up, down, status, cmd. Every failure is one line on stderr and a non-zero exit.</summary>
public static class CliApp
{
    private static readonly Option<string> DataDir = new("--data-dir") { Description = "Data directory of the local cluster (store, logs, cluster.json, kubeconfig). Env: AKKAKUBE_DATA_DIR", DefaultValueFactory = _ => Environment.GetEnvironmentVariable("AKKAKUBE_DATA_DIR") ?? ".akkakube" };

    public static async Task<int> RunAsync(string[] args)
    {
        // Redirected output (scripts, tests): wide tables instead of wrapping at 80 columns, and no colours.
        if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 250;
        if (Console.IsOutputRedirected || Environment.GetEnvironmentVariable("NO_COLOR") is { Length: > 0 })
            AnsiConsole.Profile.Capabilities.ColorSystem = ColorSystem.NoColors;
        try
        {
            var root = BuildRoot();
            if (args.Length > 0 && args[0] == "cmd" && !args.Skip(1).Any(a => a is "--help" or "-h" or "-?"))
                return await CmdCli.RunAsync(args[1..]);
            var parse = root.Parse(args);
            if (args.Any(a => a is "--help" or "-h" or "-?" or "--version") || args.Length == 0)
                return await parse.InvokeAsync();
            if (parse.Errors.Count > 0)
                throw new CliException(parse.Errors[0].Message, 2);
            // Our own handler below turns every exception into one line (no stack traces).
            return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (CliException e)
        {
            Console.Error.WriteLine($"akkakube: error: {e.Message}");
            return e.ExitCode;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("akkakube: cancelled");
            return 130;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"akkakube: error: {e.GetType().Name}: {e.Message.Split('\n')[0]}");
            return 1;
        }
    }

    private static RootCommand BuildRoot()
    {
        var root = new RootCommand("akkakube: start, inspect and stop a local AkkaKube cluster (Kubernetes as an Akka.NET cluster).");
        root.Subcommands.Add(UpCommand());
        root.Subcommands.Add(DownCommand());
        root.Subcommands.Add(ClusterCommands.Status(DataDir));
        root.Subcommands.Add(ClusterCommands.List());
        root.Subcommands.Add(ClusterCommands.Kubeconfig(DataDir));
        root.Subcommands.Add(ImageCommand());
        root.Subcommands.Add(NodeAdd.Describe(DataDir));
        root.Subcommands.Add(CmdCli.Describe());
        root.Subcommands.Add(Chaos.ChaosCli.Describe(DataDir));
        root.Subcommands.Add(CompletionCommand.Describe());
        return root;
    }

    private static Command UpCommand()
    {
        var controlPlanes = new Option<int>("--control-planes") { Description = "Control-plane nodes (cp-1…)", DefaultValueFactory = _ => 3 };
        var workers = new Option<int>("--workers") { Description = "Worker nodes, spread round-robin over the zones (worker-a1…)", DefaultValueFactory = _ => 3 };
        var hollow = new Option<int>("--hollow-nodes") { Description = "Simulated (hollow) kubelets for scale tests, run by extra hollow-only worker processes spread over the zones (hollow-a1-hollow-0…)", DefaultValueFactory = _ => 0 };
        var zones = new Option<string>("--zones") { Description = "Comma-separated zones", DefaultValueFactory = _ => "zone-a,zone-b,zone-c" };
        var apiPort = new Option<int>("--api-port") { Description = "Port of the Kubernetes API on 127.0.0.1 (shared by the control-plane nodes)", DefaultValueFactory = _ => 6443 };
        var foreground = new Option<bool>("--foreground") { Description = "Stay attached; Ctrl-C or SIGTERM stops the cluster" };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait until every member is Up", DefaultValueFactory = _ => 180 };
        var postgres = new Option<string>("--postgres") { Description = "PostgreSQL connection string for the store's journal, passed to every node (default: SQLite in the data directory). Env: AKKAKUBE_POSTGRES", DefaultValueFactory = _ => Environment.GetEnvironmentVariable("AKKAKUBE_POSTGRES") ?? "" };
        var failover = new Option<string>("--failover") { Description = "Failover profile of every node: standard (safe margins) or fast (hand-over in seconds on a quiet machine; docs/failover.md)", DefaultValueFactory = _ => "standard" };
        failover.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string>() is not ("standard" or "fast"))
                r.AddError($"--failover: unknown profile '{r.GetValueOrDefault<string>()}' (expected standard or fast)");
        });
        var insecureHttp = new Option<bool>("--insecure-http") { Description = "Serve the API over plain HTTP without credentials (every local process is cluster-admin); warned about at every start" };
        var remotingTls = new Option<bool>("--remoting-tls") { Description = "Akka remoting between the nodes over mutual TLS with the cluster CA (a process without its certificate cannot join); docs/security.md" };
        var encryption = new Option<string>("--encryption-provider-config") { Description = "EncryptionConfiguration file (as kube-apiserver's) passed to every node: encrypts the resources it names (e.g. secrets) at rest in the store; docs/security.md" };
        var auditPolicy = new Option<string>("--audit-policy-file") { Description = "Audit policy (audit.k8s.io/v1 Policy, as kube-apiserver's) for every control-plane node; with --audit-log-path. docs/security.md" };
        var auditLog = new Option<string>("--audit-log-path") { Description = "Audit log (one audit.k8s.io/v1 Event per line); with several control-plane nodes each writes PATH with -NODE before the extension" };
        var addressBlock = new Option<int>("--address-block") { Description = "Share of the loopback ranges (0-63): block B uses node IPs 127.1.B.k, pod CIDRs 127.(64+B).k.0/24, ClusterIPs 127.128.4B.0/22, LB IPs 127.200.4B.0/22; give clusters side by side different blocks", DefaultValueFactory = _ => 0 };
        var runtime = new Option<string>("--runtime") { Description = "Container runtime of the workers: process (pods as host processes, default) or containerd (root: one containerd per worker, pods in CRI sandboxes with their own network namespace on 10.244.<k>.0/24; load images with `akkakube image load`; docs/kubelet.md)", DefaultValueFactory = _ => "process" };
        runtime.AcceptOnlyFromAmong("process", "containerd");
        var hosts = new Option<string>("--hosts") { Description = "loopback (default: every node on 127.1.B.k of this machine) or netns (root: every node in its own network namespace on a bridge, pod CIDRs routed between them; `chaos partition` needs it; docs/hosts.md)", DefaultValueFactory = _ => "loopback" };
        hosts.AcceptOnlyFromAmong("loopback", "netns");
        var hostsCidr = new Option<string>("--hosts-cidr") { Description = "With --hosts netns: the cluster's /16 (nodes A.B.0.i, host A.B.0.254, node i's pods A.B.i.0/24); refused when the host already routes it", DefaultValueFactory = _ => HostNetwork.DefaultCidr };
        var name = ClusterCommands.NameOption("Cluster name (several side by side): data in ~/.akkakube/clusters/NAME, a free address block and API port, kubeconfig context akkakube-NAME");
        var noKubeconfig = new Option<bool>("--no-kubeconfig") { Description = "Do not merge the context akkakube-NAME into $KUBECONFIG or ~/.kube/config" };
        var cmd = new Command("up", "Start a local cluster of node processes and wait until every member is Up") { controlPlanes, workers, hollow, zones, DataDir, apiPort, foreground, timeout, failover, addressBlock, postgres, insecureHttp, remotingTls, encryption, auditPolicy, auditLog, name, noKubeconfig, runtime, hosts, hostsCidr };
        cmd.SetAction(async (parse, ct) =>
        {
            var clusterName = parse.GetValue(name);
            if (clusterName is not null) ClusterRegistry.CheckName(clusterName);
            var named = clusterName is not null;
            var options = new UpOptions
            {
                Name = clusterName ?? ClusterRegistry.DefaultName,
                Kubeconfig = !parse.GetValue(noKubeconfig),
                ControlPlanes = parse.GetValue(controlPlanes),
                Workers = parse.GetValue(workers),
                HollowNodes = parse.GetValue(hollow),
                Zones = parse.GetValue(zones)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                // A named cluster lives in the registry and takes a free address block and API port unless told.
                DataDirectory = named && parse.GetResult(DataDir) is null or { Implicit: true } ? ClusterRegistry.EntryOf(clusterName!) : parse.GetValue(DataDir)!,
                ApiPort = named && parse.GetResult(apiPort) is null or { Implicit: true } ? LocalClusterLauncher.FreePort(System.Net.IPAddress.Loopback) : parse.GetValue(apiPort),
                Timeout = TimeSpan.FromSeconds(Math.Max(1, parse.GetValue(timeout))),
                AddressBlock = named && parse.GetResult(addressBlock) is null or { Implicit: true } ? ClusterRegistry.FreeAddressBlock() : parse.GetValue(addressBlock),
                ExtraNodeArgs = [.. parse.GetValue(failover) == "fast" ? ["--failover", "fast"] : Array.Empty<string>(),
                                 .. EncryptionArgs(parse.GetValue(encryption))],
                Postgres = parse.GetValue(postgres) is { Length: > 0 } pg ? pg : null,
                Runtime = parse.GetValue(runtime)!,
                Hosts = parse.GetValue(hosts)!,
                HostsCidr = parse.GetValue(hostsCidr)!,
                InsecureHttp = parse.GetValue(insecureHttp),
                RemotingTls = parse.GetValue(remotingTls),
                AuditPolicyFile = AuditPolicyPath(parse.GetValue(auditPolicy), parse.GetValue(auditLog)),
                AuditLogPath = parse.GetValue(auditLog) is { Length: > 0 } log ? Path.GetFullPath(log) : null,
            };
            return await UpAsync(options, parse.GetValue(foreground), ct);
        });
        return cmd;
    }

    /// <summary>`up --audit-policy-file`, checked here so a bad policy fails before any node starts.</summary>
    private static string? AuditPolicyPath(string? policy, string? log)
    {
        if (string.IsNullOrEmpty(policy) != string.IsNullOrEmpty(log))
            throw new CliException("--audit-policy-file and --audit-log-path go together: give both to write an audit log");
        if (string.IsNullOrEmpty(policy)) return null;
        var path = Path.GetFullPath(policy);
        try
        {
            Actors.ApiServer.Audit.AuditPolicy.Load(path);
        }
        catch (Actors.ApiServer.Audit.AuditPolicyException e)
        {
            throw new CliException($"--audit-policy-file: {e.Message}");
        }
        return path;
    }

    /// <summary>The node flag for `up --encryption-provider-config`, checked here so a bad file fails before any node starts.</summary>
    private static string[] EncryptionArgs(string? file)
    {
        if (string.IsNullOrEmpty(file)) return [];
        var path = Path.GetFullPath(file);
        try
        {
            Actors.Security.EncryptionConfiguration.Load(path);
        }
        catch (Actors.Security.EncryptionConfigException e)
        {
            throw new CliException($"--encryption-provider-config: {e.Message}");
        }
        return ["--encryption-provider-config", path];
    }

    private static async Task<int> UpAsync(UpOptions options, bool foreground, CancellationToken ct)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        void Say(string what) => Console.WriteLine($"[{clock.Elapsed.TotalSeconds,6:0.0}s] {what}");
        var state = LocalClusterLauncher.Start(options, Say);
        var registered = RegisterCluster(options.Name!, state.DataDirectory);
        IReadOnlyList<MemberView> members;
        try
        {
            Say($"started {state.Nodes.Count} node processes in {state.DataDirectory}; waiting for every member to be Up");
            var lastUp = -1;
            members = await LocalClusterLauncher.WaitUntilUpAsync(state, options.Timeout, (up, total) =>
            {
                if (up != lastUp) Say($"members Up {up}/{total}");
                lastUp = up;
            }, ct);
            var lastReady = -1;
            await LocalClusterLauncher.WaitUntilNodesReadyAsync(state, options.Timeout, (ready, total) =>
            {
                if (ready != lastReady) Say($"Nodes Ready {ready}/{total} (kubelets registered, Leases renewed)");
                lastReady = ready;
            }, ct);
            if (!await LocalClusterLauncher.WaitForDefaultServiceAccountAsync(state, TimeSpan.FromSeconds(Math.Min(30, options.Timeout.TotalSeconds)), ct))
                Say("the default ServiceAccount does not exist yet: pods in namespace default are refused until the serviceaccount controller creates it");
            var lastHealthy = -1;
            await NodeHealthClient.WaitUntilReadyAsync(state, options.Timeout, (ready, total, waiting) =>
            {
                if (ready != lastHealthy)
                    Say($"/readyz ok on {ready}/{total} nodes" + (waiting.Count > 0 ? $" (waiting: {string.Join(", ", waiting.Take(3).Select(w => $"{w.Node} {(w.Error is null ? string.Join(",", w.Failed) : "no answer")}"))})" : ""));
                lastHealthy = ready;
            }, ct);
            if (state.Nodes.Count(n => n.ControlPlane) > 1)
            {
                Say("waiting for the store's partitions to spread over the control planes");
                Say(await LocalClusterLauncher.WaitUntilStoreBalancedAsync(state, options.Timeout, ct)
                    ? "store partitions spread evenly (`akkakube cmd cp-1 cluster shards` shows where)"
                    : "store partitions still moving between control planes; requests to a moving partition may time out (504) for a few seconds");
            }
        }
        catch (Exception)
        {
            LocalClusterLauncher.Stop(state, TimeSpan.FromSeconds(10));
            File.Delete(ClusterState.PathIn(state.DataDirectory));
            throw;
        }

        PrintTable(state, members);
        var kubeconfig = LocalClusterLauncher.KubeconfigPath(state.DataDirectory);
        if (options.Kubeconfig && registered)
        {
            var file = KubeconfigMerge.Merge(kubeconfig, options.Name!);
            Say($"kubectl context {KubeconfigMerge.ContextName(options.Name!)} is now current in {file}");
        }
        Console.WriteLine();
        if (options.InsecureHttp)
            Console.Error.WriteLine("WARNING: --insecure-http: the API is plain HTTP without authentication; every local process is cluster-admin");
        Console.WriteLine($"Kubernetes API: {KubeconfigCredentials.Load(kubeconfig).Server.ToString().TrimEnd('/')}   logs: {LocalClusterLauncher.LogDirectory(state.DataDirectory)}");
        if (state.Hosts is not null)
            Console.WriteLine($"Hosts: {string.Join("  ", state.Nodes.Select(n => $"{n.Name} {n.Ip} (netns {n.Namespace}, pods {n.PodCidr})"))}");
        var scheme = options.InsecureHttp ? "http" : "https";
        Console.WriteLine($"Web view: {WebViewToken.Url(scheme, state.ApiPort, WebViewToken.TryRead(state.DataDirectory), KubeconfigCredentials.Load(kubeconfig).Server.Host)}" +
                          (options.InsecureHttp ? "" : "   (the token is the admin's: keep the address private; the browser warns about the cluster CA)"));
        Console.WriteLine($"Metrics and health: {string.Join("  ", state.Nodes.Where(n => n.MetricsUrl is not null).Select(n => $"{n.Name} {n.MetricsUrl}"))}");
        Console.WriteLine($"export KUBECONFIG={kubeconfig}");
        if (!foreground)
        {
            Console.WriteLine("The nodes keep running in the background; `akkakube down` stops them.");
            return 0;
        }

        Console.WriteLine("Running in the foreground; Ctrl-C or SIGTERM stops the cluster.");
        var stop = new TaskCompletionSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.TrySetResult(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.TrySetResult(); });
        using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => { c.Cancel = true; stop.TrySetResult(); });
        _ = Task.Run(async () =>
        {
            while (!stop.Task.IsCompleted)
            {
                if (LocalClusterLauncher.Alive(state).Count == 0) { stop.TrySetResult(); break; }
                await Task.Delay(1000);
            }
        });
        await stop.Task;
        Console.WriteLine("stopping the cluster …");
        // cluster.json again: `akkakube node add` may have added workers since
        var killed = LocalClusterLauncher.Stop(ClusterState.Load(state.DataDirectory) ?? state, TimeSpan.FromSeconds(20));
        File.Delete(ClusterState.PathIn(state.DataDirectory));
        Console.WriteLine(killed.Count == 0 ? "all nodes stopped" : $"all nodes stopped ({string.Join(", ", killed)} needed SIGKILL)");
        return 0;
    }

    /// <summary>
    /// Registers the cluster under its name; false (and a note) when that name already belongs to another running
    /// cluster (two checkouts each running the README's unnamed `up`): it then runs unregistered, without a context.
    /// </summary>
    private static bool RegisterCluster(string name, string dataDir)
    {
        var current = ClusterRegistry.DataDirectoryOf(name);
        if (Path.GetFullPath(current) != Path.GetFullPath(dataDir) && Directory.Exists(current)
            && ClusterState.Load(current) is { } other && LocalClusterLauncher.Alive(other).Count > 0)
        {
            Console.WriteLine($"note: the cluster name '{name}' belongs to the running cluster in {current}; this one is not registered (use --name)");
            return false;
        }
        ClusterRegistry.Register(name, dataDir);
        return true;
    }

    private static Command DownCommand()
    {
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait after SIGTERM before SIGKILL", DefaultValueFactory = _ => 20 };
        var purge = new Option<bool>("--purge") { Description = "Also delete the data directory (stored objects, logs), the cluster's kubeconfig context and its registration" };
        var name = ClusterCommands.NameOption("The cluster to stop (`akkakube list`); default: the one in --data-dir");
        var cmd = new Command("down", "Stop the local cluster (SIGTERM, then SIGKILL after the timeout); keeps the data unless --purge") { DataDir, timeout, purge, name };
        cmd.SetAction(parse =>
        {
            var (clusterName, dataDir) = ClusterCommands.Resolve(parse, name, DataDir);
            if (File.Exists(dataDir)) throw new CliException($"data directory '{dataDir}' is a file, not a directory");
            var state = ClusterState.Load(dataDir);
            if (state is null)
            {
                Console.WriteLine($"no cluster in '{dataDir}'");
            }
            else
            {
                var alive = LocalClusterLauncher.Alive(state);
                Console.WriteLine($"stopping {alive.Count} node processes …");
                var killed = LocalClusterLauncher.Stop(state, TimeSpan.FromSeconds(Math.Max(0, parse.GetValue(timeout))));
                File.Delete(ClusterState.PathIn(dataDir));
                Console.WriteLine(killed.Count == 0 ? "all nodes stopped" : $"all nodes stopped ({string.Join(", ", killed)} needed SIGKILL)");
            }
            if (parse.GetValue(purge))
            {
                if (Directory.Exists(dataDir))
                {
                    Directory.Delete(dataDir, recursive: true);
                    Console.WriteLine($"deleted '{dataDir}'");
                }
                if (clusterName is not null)
                {
                    if (KubeconfigMerge.Remove(clusterName))
                        Console.WriteLine($"removed context {KubeconfigMerge.ContextName(clusterName)} from {KubeconfigMerge.UserKubeconfig()}");
                    ClusterRegistry.Unregister(clusterName);
                }
            }
            return 0;
        });
        return cmd;
    }

    private static Command ImageCommand()
    {
        var files = new Argument<string[]>("FILE") { Description = "OCI or docker image archives (e.g. from scripts/build-test-images.sh)", Arity = ArgumentArity.OneOrMore };
        var load = new Command("load", "Import image archives into the containerd of every worker of the local cluster (`up --runtime containerd`), as `kind load image-archive`") { files, DataDir };
        load.SetAction(async (parse, ct) =>
        {
            var dataDir = Path.GetFullPath(parse.GetValue(DataDir)!);
            var state = ClusterState.Load(dataDir) ?? throw new CliException($"no cluster in '{dataDir}' (akkakube up --runtime containerd)");
            var nodes = state.Nodes.Where(n => n.ContainerdDirectory is not null).ToList();
            if (nodes.Count == 0) throw new CliException($"the cluster in '{dataDir}' runs no containerd (start it with akkakube up --runtime containerd)");
            foreach (var file in parse.GetValue(files)!)
            {
                if (!File.Exists(file)) throw new CliException($"image archive '{file}' does not exist");
                foreach (var n in nodes)
                {
                    var containerd = new ContainerdNode(n.ContainerdDirectory!, n.Name, n.PodCidr, "");
                    var imported = await containerd.ImportAsync(Path.GetFullPath(file), ct);
                    Console.WriteLine($"{n.Name}: {imported.Split('\n')[^1]}");
                }
            }
            return 0;
        });
        var cmd = new Command("image", "Images of the containerd workers");
        cmd.Subcommands.Add(load);
        return cmd;
    }

    internal static void PrintTable(ClusterState state, IReadOnlyList<MemberView> members)
    {
        var byAddress = state.Nodes.ToDictionary(n => n.Address);
        var table = new Table().AddColumns("name", "roles", "zone", "address", "status", "reachability", "cmd");
        var shown = new HashSet<string>();
        foreach (var m in members.OrderBy(m => byAddress.TryGetValue(m.Address, out var n) ? n.Ordinal : int.MaxValue))
        {
            byAddress.TryGetValue(m.Address, out var node);
            shown.Add(m.Address);
            table.AddRow(Markup.Escape(node?.Name ?? "?"), Markup.Escape(m.Roles), Markup.Escape(m.Zone), Markup.Escape(m.Address),
                Markup.Escape(m.Status), Markup.Escape(m.Reachability), node is null ? "" : $"{node.CmdAddress}:{node.CmdPort}");
        }
        foreach (var n in state.Nodes.Where(n => !shown.Contains(n.Address)))
            table.AddRow(n.Name, n.Roles, n.Zone, n.Address, NodeProcesses.IsNodeAlive(n.Pid, n.Name) ? "not a member" : "not running", "", $"{n.CmdAddress}:{n.CmdPort}");
        AnsiConsole.Write(table);
        Console.WriteLine($"Count: {members.Count} members, {members.Count(m => m.Status == "Up")} Up");
    }
}
