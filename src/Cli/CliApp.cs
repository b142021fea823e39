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
        // Redirected output (scripts, tests): wide tables instead of wrapping at 80 columns.
        if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 250;
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
        root.Subcommands.Add(StatusCommand());
        root.Subcommands.Add(ImageCommand());
        root.Subcommands.Add(CmdCli.Describe());
        root.Subcommands.Add(Chaos.ChaosCli.Describe(DataDir));
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
        var addressBlock = new Option<int>("--address-block") { Description = "Share of the loopback ranges (0-63): block B uses node IPs 127.1.B.k, pod CIDRs 127.(64+B).k.0/24, ClusterIPs 127.128.4B.0/22, LB IPs 127.200.4B.0/22; give clusters side by side different blocks", DefaultValueFactory = _ => 0 };
        var runtime = new Option<string>("--runtime") { Description = "Container runtime of the workers: process (pods as host processes, default) or containerd (root: one containerd per worker, pods in CRI sandboxes with their own network namespace on 10.244.<k>.0/24; load images with `akkakube image load`; docs/kubelet.md)", DefaultValueFactory = _ => "process" };
        runtime.AcceptOnlyFromAmong("process", "containerd");
        var cmd = new Command("up", "Start a local cluster of node processes and wait until every member is Up") { controlPlanes, workers, hollow, zones, DataDir, apiPort, foreground, timeout, failover, addressBlock, postgres, insecureHttp, runtime };
        cmd.SetAction(async (parse, ct) =>
        {
            var options = new UpOptions
            {
                ControlPlanes = parse.GetValue(controlPlanes),
                Workers = parse.GetValue(workers),
                HollowNodes = parse.GetValue(hollow),
                Zones = parse.GetValue(zones)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                DataDirectory = parse.GetValue(DataDir)!,
                ApiPort = parse.GetValue(apiPort),
                Timeout = TimeSpan.FromSeconds(Math.Max(1, parse.GetValue(timeout))),
                AddressBlock = parse.GetValue(addressBlock),
                ExtraNodeArgs = parse.GetValue(failover) == "fast" ? ["--failover", "fast"] : [],
                Postgres = parse.GetValue(postgres) is { Length: > 0 } pg ? pg : null,
                Runtime = parse.GetValue(runtime)!,
                InsecureHttp = parse.GetValue(insecureHttp),
            };
            return await UpAsync(options, parse.GetValue(foreground), ct);
        });
        return cmd;
    }

    private static async Task<int> UpAsync(UpOptions options, bool foreground, CancellationToken ct)
    {
        var state = LocalClusterLauncher.Start(options);
        IReadOnlyList<MemberView> members;
        try
        {
            var interactive = !Console.IsOutputRedirected;
            if (interactive)
            {
                members = await AnsiConsole.Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new SpinnerColumn())
                    .StartAsync(async ctx =>
                    {
                        var task = ctx.AddTask($"starting {state.Nodes.Count} nodes", maxValue: state.Nodes.Count);
                        var result = await LocalClusterLauncher.WaitUntilUpAsync(state, options.Timeout, (up, total) =>
                        {
                            task.Value = up;
                            task.Description = $"members Up {up}/{total}";
                        }, ct);
                        task.Value = state.Nodes.Count;
                        return result;
                    });
            }
            else
            {
                Console.WriteLine($"starting {state.Nodes.Count} nodes in {state.DataDirectory} …");
                var last = -1;
                members = await LocalClusterLauncher.WaitUntilUpAsync(state, options.Timeout, (up, total) =>
                {
                    if (up != last) Console.WriteLine($"members Up {up}/{total}");
                    last = up;
                }, ct);
            }
        }
        catch (Exception)
        {
            LocalClusterLauncher.Stop(state, TimeSpan.FromSeconds(10));
            File.Delete(ClusterState.PathIn(state.DataDirectory));
            throw;
        }

        try
        {
            var lastReady = -1;
            await LocalClusterLauncher.WaitUntilNodesReadyAsync(state, options.Timeout, (ready, total) =>
            {
                if (ready != lastReady) Console.WriteLine($"Nodes Ready {ready}/{total}");
                lastReady = ready;
            }, ct);
        }
        catch (Exception)
        {
            LocalClusterLauncher.Stop(state, TimeSpan.FromSeconds(10));
            File.Delete(ClusterState.PathIn(state.DataDirectory));
            throw;
        }

        PrintTable(state, members);
        var kubeconfig = LocalClusterLauncher.KubeconfigPath(state.DataDirectory);
        Console.WriteLine();
        if (options.InsecureHttp)
            Console.Error.WriteLine("WARNING: --insecure-http: the API is plain HTTP without authentication; every local process is cluster-admin");
        Console.WriteLine($"Kubernetes API: {(options.InsecureHttp ? "http" : "https")}://127.0.0.1:{state.ApiPort}   logs: {LocalClusterLauncher.LogDirectory(state.DataDirectory)}");
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
        var killed = LocalClusterLauncher.Stop(state, TimeSpan.FromSeconds(20));
        File.Delete(ClusterState.PathIn(state.DataDirectory));
        Console.WriteLine(killed.Count == 0 ? "all nodes stopped" : $"all nodes stopped ({string.Join(", ", killed)} needed SIGKILL)");
        return 0;
    }

    private static Command DownCommand()
    {
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait after SIGTERM before SIGKILL", DefaultValueFactory = _ => 20 };
        var purge = new Option<bool>("--purge") { Description = "Also delete the data directory (stored objects, logs)" };
        var cmd = new Command("down", "Stop the local cluster (SIGTERM, then SIGKILL after the timeout); keeps the data unless --purge") { DataDir, timeout, purge };
        cmd.SetAction(parse =>
        {
            var dataDir = Path.GetFullPath(parse.GetValue(DataDir)!);
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
            if (parse.GetValue(purge) && Directory.Exists(dataDir))
            {
                Directory.Delete(dataDir, recursive: true);
                Console.WriteLine($"deleted '{dataDir}'");
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

    private static Command StatusCommand()
    {
        var cmd = new Command("status", "Show the members of the local cluster (from a live node, else from the PIDs in cluster.json)") { DataDir };
        cmd.SetAction(async (parse, ct) =>
        {
            var dataDir = Path.GetFullPath(parse.GetValue(DataDir)!);
            if (File.Exists(dataDir)) throw new CliException($"data directory '{dataDir}' is a file, not a directory");
            var state = ClusterState.Load(dataDir) ?? throw new CliException($"no cluster in '{dataDir}' (start one with `akkakube up`)");
            var members = await LocalClusterLauncher.QueryMembersAsync(state, TimeSpan.FromSeconds(5), ct);
            if (members is not null)
            {
                PrintTable(state, members);
                await PrintNodeCountAsync(state, ct);
                return 0;
            }
            var table = new Table().AddColumns("name", "roles", "zone", "pid", "process");
            foreach (var n in state.Nodes)
                table.AddRow(n.Name, n.Roles, n.Zone, n.Pid.ToString(), NodeProcesses.IsNodeAlive(n.Pid, n.Name) ? "running (command host not answering)" : "not running");
            AnsiConsole.Write(table);
            var alive = LocalClusterLauncher.Alive(state).Count;
            if (alive == 0) throw new CliException($"the cluster in '{dataDir}' is not running (no node process alive)");
            Console.WriteLine($"no command host answered; {alive}/{state.Nodes.Count} node processes alive");
            return 0;
        });
        return cmd;
    }

    /// <summary>"Nodes: 1003 (1000 hollow), 1003 Ready; zone-a 335, …" from the API; nothing when it does not answer.</summary>
    private static async Task PrintNodeCountAsync(ClusterState state, CancellationToken ct)
    {
        using var http = LocalClusterLauncher.ApiClient(state.DataDirectory, TimeSpan.FromSeconds(10));
        var nodes = await LocalClusterLauncher.ListNodesAsync(http, ct);
        if (nodes is null)
        {
            Console.WriteLine($"Nodes: the API on 127.0.0.1:{state.ApiPort} did not answer");
            return;
        }
        var zones = string.Join(", ", nodes.GroupBy(n => n.Zone).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{(g.Key.Length == 0 ? "no zone" : g.Key)} {g.Count()}"));
        Console.WriteLine($"Nodes: {nodes.Count} ({nodes.Count(n => n.Hollow)} hollow), {nodes.Count(n => n.Ready)} Ready{(zones.Length > 0 ? "; " + zones : "")}");
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
                Markup.Escape(m.Status), Markup.Escape(m.Reachability), node is null ? "" : $"127.0.0.1:{node.CmdPort}");
        }
        foreach (var n in state.Nodes.Where(n => !shown.Contains(n.Address)))
            table.AddRow(n.Name, n.Roles, n.Zone, n.Address, NodeProcesses.IsNodeAlive(n.Pid, n.Name) ? "not a member" : "not running", "", $"127.0.0.1:{n.CmdPort}");
        AnsiConsole.Write(table);
        Console.WriteLine($"Count: {members.Count} members, {members.Count(m => m.Status == "Up")} Up");
    }
}
