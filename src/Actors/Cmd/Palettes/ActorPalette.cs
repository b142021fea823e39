using System.Diagnostics;
using Akka.Actor;
using Akka.Cluster;
using AkkaCluster = Akka.Cluster.Cluster;

namespace AkkaKube.Actors.Cmd.Palettes;

/// <summary>`actor`: this node's actor system, its live actor tree and supervision failures per actor.</summary>
public sealed class ActorPalette : ICmdPalette
{
    public string Name => "actor";

    public string Description => "this node's actor system: system, hierarchy, restarts";

    public IReadOnlyList<CmdCommand> Commands =>
    [
        new("system", "actor system facts: name, address, roles, uptime, versions, process", [], SystemInfo),
        new("hierarchy", "the live actor tree below a path (default /user)",
        [
            CmdArg.Option("depth", "levels below the start path (default 4)", "-d"),
            CmdArg.Option("path", "start path, e.g. /user/kubelet or /system (default /user)", "-s"),
        ], Hierarchy),
        new("restarts", "supervised failures per actor (each Restart/Stop decision of a supervisor), most first",
            [CmdArg.Option("top", "show at most N actors (default 50)", "-n")], Restarts),
    ];

    private static Task SystemInfo(CmdCall call)
    {
        var system = call.System;
        var cluster = AkkaCluster.Get(system);
        var process = Process.GetCurrentProcess();
        var uptime = DateTime.UtcNow - NodeDiagnostics.Get(system).StartedAt;
        call.Output.Table(["property", "value"],
        [
            ["node", call.Node.NodeName],
            ["system", system.Name],
            ["address", cluster.SelfAddress.ToString()],
            ["roles", string.Join(",", cluster.SelfRoles.OrderBy(r => r, StringComparer.Ordinal))],
            ["status", cluster.SelfMember.Status.ToString()],
            ["app-version", cluster.SelfMember.AppVersion.ToString()],
            ["akka", typeof(ActorSystem).Assembly.GetName().Version?.ToString() ?? "?"],
            ["dotnet", Environment.Version.ToString()],
            ["uptime", $"{(int)uptime.TotalHours}h{uptime.Minutes:00}m{uptime.Seconds:00}s"],
            ["pid", Environment.ProcessId.ToString()],
            ["working-set", $"{process.WorkingSet64 / (1024 * 1024)} MiB"],
            ["threads", process.Threads.Count.ToString()],
            ["data-dir", call.Node.DataDirectory],
        ]);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Resolves the start path with ActorSelection + Identify (so a wrong path is a clear error), then walks the
    /// live children of each local actor (ActorRefWithCell.Children: exact, no timing guesses).
    /// </summary>
    private static async Task Hierarchy(CmdCall call)
    {
        var depth = call.Args.GetInt("depth", 4, 0, 64);
        var path = call.Args.Get("path") ?? "/user";
        if (!path.StartsWith('/')) path = "/" + path;
        var identity = await call.System.ActorSelection(path).Ask<ActorIdentity>(new Identify(path), TimeSpan.FromSeconds(3), call.Cancelled);
        if (identity.Subject is not { } start)
        {
            var top = TopLevelPaths(call.System).Concat(["/user", "/system"]).ToList();
            throw new CmdException($"no actor at '{path}'{Closest.DidYouMean(path, top)}");
        }
        var lines = new List<string>();
        Walk(start, depth, "", true, lines, root: true);
        foreach (var line in lines) call.Output.Text(line);
        call.Output.Text($"Count: {lines.Count} actors");
    }

    private static IEnumerable<string> TopLevelPaths(ActorSystem system) =>
        system is ExtendedActorSystem { Guardian: ActorRefWithCell guardian }
            ? guardian.Children.Select(c => c.Path.ToStringWithoutAddress())
            : [];

    private static void Walk(IActorRef actor, int depth, string indent, bool last, List<string> lines, bool root = false)
    {
        var children = actor is ActorRefWithCell cell
            ? cell.Children.OrderBy(c => c.Path.Name, StringComparer.Ordinal).ToList()
            : [];
        lines.Add(root ? actor.Path.ToStringWithoutAddress() : $"{indent}{(last ? "└── " : "├── ")}{actor.Path.Name}");
        if (depth == 0)
        {
            if (children.Count > 0) lines.Add($"{indent}{(root ? "" : last ? "    " : "│   ")}└── … {children.Count} more");
            return;
        }
        var childIndent = root ? "" : indent + (last ? "    " : "│   ");
        for (var i = 0; i < children.Count; i++)
            Walk(children[i], depth - 1, childIndent, i == children.Count - 1, lines);
    }

    private static Task Restarts(CmdCall call)
    {
        var top = call.Args.GetInt("top", 50, 1, 10_000);
        var records = NodeDiagnostics.Get(call.System).Restarts;
        if (records.Count == 0)
        {
            call.Output.Text("no supervised failures since this node started");
            return Task.CompletedTask;
        }
        call.Output.Table(["actor", "failures", "last", "last error"],
            records.Take(top).Select(r => (IReadOnlyList<string>)[r.Path, r.Count.ToString(), r.Last.ToString("yyyy-MM-ddTHH:mm:ssZ"), r.LastError]));
        return Task.CompletedTask;
    }
}
