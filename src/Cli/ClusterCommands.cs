using AkkaKube.Actors.Security;
using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace AkkaKube.Cli;

/// <summary>`status`, `list` and `kubeconfig`, and how every command finds its cluster (--name or --data-dir).</summary>
public static class ClusterCommands
{
    public static Option<string> NameOption(string description) => new("--name") { Description = description };

    private static Option<string> OutputOption() => new("--output", "-o")
    {
        Description = "Output format: table (default) or json (for scripts)",
        DefaultValueFactory = _ => "table",
        Validators =
        {
            r =>
            {
                if (r.GetValueOrDefault<string>() is not ("table" or "json"))
                    r.AddError($"--output: unknown format '{r.GetValueOrDefault<string>()}' (expected table or json)");
            },
        },
    };

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>(registered name or null, full data directory) of the cluster a command means.</summary>
    public static (string? Name, string DataDirectory) Resolve(ParseResult parse, Option<string> name, Option<string> dataDir)
    {
        if (parse.GetValue(name) is { } n)
        {
            ClusterRegistry.CheckName(n);
            if (!Directory.Exists(ClusterRegistry.EntryOf(n)))
                throw new CliException($"no cluster named '{n}' (see `akkakube list`)");
            return (n, Path.GetFullPath(ClusterRegistry.DataDirectoryOf(n)));
        }
        var dir = Path.GetFullPath(parse.GetValue(dataDir)!);
        if (File.Exists(dir)) throw new CliException($"data directory '{dir}' is a file, not a directory");
        var registered = ClusterRegistry.List().FirstOrDefault(c => Path.GetFullPath(c.DataDirectory) == dir).Name;
        return (registered, dir);
    }

    public static Command Status(Option<string> dataDir)
    {
        var name = NameOption("The cluster to show (`akkakube list`); default: the one in --data-dir");
        var output = OutputOption();
        var cmd = new Command("status", "Show the members of the local cluster and each node's health (from a live node, else from the PIDs in cluster.json)") { dataDir, name, output };
        cmd.SetAction(async (parse, ct) =>
        {
            var (clusterName, dir) = Resolve(parse, name, dataDir);
            var state = ClusterState.Load(dir) ?? throw new CliException($"no cluster in '{dir}' (start one with `akkakube up`)");
            var members = await LocalClusterLauncher.QueryMembersAsync(state, TimeSpan.FromSeconds(5), ct);
            var health = await Task.WhenAll(state.Nodes.Select(n => NodeProcesses.IsNodeAlive(n.Pid, n.Name)
                ? NodeHealthClient.ProbeAsync(n, ct)
                : Task.FromResult(new NodeHealth(n.Name, n.MetricsUrl, false, false, [], "not running"))));
            var alive = LocalClusterLauncher.Alive(state).Count;
            if (parse.GetValue(output) == "json")
            {
                Console.WriteLine(StatusJson(clusterName, state, members, health).ToJsonString(Indented));
                return alive == 0 ? 1 : 0;
            }
            if (members is not null)
            {
                CliApp.PrintTable(state, members);
                await PrintNodeCountAsync(state, ct);
            }
            else
            {
                var table = new Table().AddColumns("name", "roles", "zone", "pid", "process");
                foreach (var n in state.Nodes)
                    table.AddRow(n.Name, n.Roles, n.Zone, n.Pid.ToString(), NodeProcesses.IsNodeAlive(n.Pid, n.Name) ? "running (command host not answering)" : "not running");
                AnsiConsole.Write(table);
            }
            PrintHealth(health);
            if (alive == 0) throw new CliException($"the cluster in '{dir}' is not running (no node process alive)");
            if (members is null) Console.WriteLine($"no command host answered; {alive}/{state.Nodes.Count} node processes alive");
            return 0;
        });
        return cmd;
    }

    private static void PrintHealth(IReadOnlyList<NodeHealth> health)
    {
        var table = new Table().AddColumns("node", "livez", "readyz", "checks", "metrics");
        foreach (var h in health)
        {
            var checks = h.Error ?? (h.Ready ? $"{h.Checks.Count} passed" : "failed: " + string.Join(", ", h.Checks.Where(c => !c.Ok).Select(c => $"{c.Name} ({c.Detail})")));
            table.AddRow(Markup.Escape(h.Node), h.Live ? "[green]ok[/]" : "[red]failed[/]", h.Ready ? "[green]ok[/]" : "[red]failed[/]",
                Markup.Escape(checks), Markup.Escape(h.MetricsUrl is null ? "" : h.MetricsUrl + "/metrics"));
        }
        AnsiConsole.Write(table);
    }

    internal static JsonObject StatusJson(string? name, ClusterState state, IReadOnlyList<MemberView>? members, IReadOnlyList<NodeHealth> health)
    {
        var byAddress = members?.ToDictionary(m => m.Address) ?? [];
        var nodes = new JsonArray();
        foreach (var (n, h) in state.Nodes.Zip(health))
        {
            byAddress.TryGetValue(n.Address, out var m);
            nodes.Add(new JsonObject
            {
                ["name"] = n.Name,
                ["roles"] = new JsonArray(n.Roles.Split(',').Select(r => (JsonNode?)r).ToArray()),
                ["zone"] = n.Zone,
                ["ip"] = n.Ip,
                ["pid"] = n.Pid,
                ["running"] = NodeProcesses.IsNodeAlive(n.Pid, n.Name),
                ["address"] = n.Address,
                ["memberStatus"] = m?.Status,
                ["reachability"] = m?.Reachability,
                ["cmd"] = $"{n.CmdAddress}:{n.CmdPort}",
                ["metrics"] = n.MetricsUrl is { } u ? u + "/metrics" : null,
                ["health"] = n.MetricsUrl is { } h2 ? new JsonObject { ["livez"] = h2 + "/livez", ["readyz"] = h2 + "/readyz", ["healthz"] = h2 + "/healthz" } : null,
                ["live"] = h.Live,
                ["ready"] = h.Ready,
                ["checks"] = new JsonArray(h.Checks.Select(c => (JsonNode?)new JsonObject { ["name"] = c.Name, ["ok"] = c.Ok, ["detail"] = c.Detail }).ToArray()),
                ["error"] = h.Error,
            });
        }
        return new JsonObject
        {
            ["name"] = name,
            ["dataDirectory"] = state.DataDirectory,
            ["apiServer"] = ApiServerUrl(state),
            ["addressBlock"] = state.AddressBlock,
            ["startedAt"] = state.StartedAt,
            ["nodes"] = nodes,
        };
    }

    /// <summary>"Nodes: 1003 (1000 hollow), 1003 Ready; zone-a 335, …" from the API; nothing when it does not answer.</summary>
    private static async Task PrintNodeCountAsync(ClusterState state, CancellationToken ct)
    {
        using var http = LocalClusterLauncher.ApiClient(state.DataDirectory, TimeSpan.FromSeconds(10));
        var nodes = await LocalClusterLauncher.ListNodesAsync(http, ct);
        if (nodes is null)
        {
            Console.WriteLine($"Nodes: the API at {ApiServerUrl(state)} did not answer");
            return;
        }
        var zones = string.Join(", ", nodes.GroupBy(n => n.Zone).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{(g.Key.Length == 0 ? "no zone" : g.Key)} {g.Count()}"));
        Console.WriteLine($"Nodes: {nodes.Count} ({nodes.Count(n => n.Hollow)} hollow), {nodes.Count(n => n.Ready)} Ready{(zones.Length > 0 ? "; " + zones : "")}");
        // kube-proxy's mode per node (nftables for cri nodes, userspace otherwise), as the kubelets report it.
        var modes = nodes.Where(n => n.ProxyMode is not null).GroupBy(n => (n.ProxyMode, n.ProxyModeUnavailable))
            .Select(g => $"{g.Key.ProxyMode} on {string.Join(", ", g.Select(n => n.Name).Order(StringComparer.Ordinal))}{(g.Key.ProxyModeUnavailable is { } why ? $" ({why})" : "")}");
        if (modes.Any()) Console.WriteLine($"kube-proxy: {string.Join("; ", modes)}");
    }

    public static Command List()
    {
        var output = OutputOption();
        var cmd = new Command("list", "List the local clusters (~/.akkakube/clusters, AKKAKUBE_HOME): name, state, API, nodes, data directory") { output };
        cmd.SetAction(parse =>
        {
            var clusters = ClusterRegistry.List().Select(c =>
            {
                var alive = c.State is { } s ? LocalClusterLauncher.Alive(s).Count : 0;
                var total = c.State?.Nodes.Count ?? 0;
                var status = c.State is null ? "stopped" : alive == total ? "running" : alive == 0 ? "stopped" : "degraded";
                return (c.Name, c.DataDirectory, c.State, Alive: alive, Total: total, Status: status);
            }).ToList();
            if (parse.GetValue(output) == "json")
            {
                var array = new JsonArray(clusters.Select(c => (JsonNode?)new JsonObject
                {
                    ["name"] = c.Name,
                    ["status"] = c.Status,
                    ["dataDirectory"] = c.DataDirectory,
                    ["apiServer"] = c.State is { } s ? ApiServerUrl(s) : null,
                    ["addressBlock"] = c.State?.AddressBlock,
                    ["context"] = KubeconfigMerge.ContextName(c.Name),
                    ["nodes"] = c.Total,
                    ["nodesRunning"] = c.Alive,
                }).ToArray());
                Console.WriteLine(array.ToJsonString(Indented));
                return 0;
            }
            if (clusters.Count == 0)
            {
                Console.WriteLine("No clusters found (start one with `akkakube up --name NAME`).");
                return 0;
            }
            var table = new Table().AddColumns("name", "status", "api", "nodes", "context", "data");
            foreach (var c in clusters)
                table.AddRow(Markup.Escape(c.Name), c.Status, c.State is { } s ? $"127.0.0.1:{s.ApiPort}" : "", $"{c.Alive}/{c.Total}",
                    Markup.Escape(KubeconfigMerge.ContextName(c.Name)), Markup.Escape(c.DataDirectory));
            AnsiConsole.Write(table);
            return 0;
        });
        return cmd;
    }

    /// <summary>The API address as the cluster's kubeconfig names it (https unless started with --insecure-http).</summary>
    private static string ApiServerUrl(ClusterState state)
    {
        var file = LocalClusterLauncher.KubeconfigPath(state.DataDirectory);
        try
        {
            return File.Exists(file) ? KubeconfigCredentials.Load(file).Server.ToString().TrimEnd('/') : $"https://127.0.0.1:{state.ApiPort}";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or InvalidOperationException)
        {
            return $"https://127.0.0.1:{state.ApiPort}";
        }
    }

    public static Command Kubeconfig(Option<string> dataDir)
    {
        var name = NameOption("The cluster (`akkakube list`); default: the one in --data-dir");
        var cmd = new Command("kubeconfig", "Print the cluster's kubeconfig (context akkakube-NAME), e.g. `akkakube kubeconfig --name a > a.yaml`") { dataDir, name };
        cmd.SetAction(parse =>
        {
            var (clusterName, dir) = Resolve(parse, name, dataDir);
            var file = LocalClusterLauncher.KubeconfigPath(dir);
            if (!File.Exists(file)) throw new CliException($"no kubeconfig in '{dir}' (is the cluster up? `akkakube up`)");
            Console.Write(KubeconfigMerge.ToYaml(KubeconfigMerge.Renamed(file, clusterName ?? ClusterRegistry.DefaultName)));
            return 0;
        });
        return cmd;
    }
}
