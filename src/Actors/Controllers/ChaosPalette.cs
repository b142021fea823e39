using Akka.Actor;
using Akka.Hosting;
using AkkaKube.Actors.Cmd;

namespace AkkaKube.Actors.Controllers;

/// <summary>
/// `chaos` palette of the command host: supervision faults for `akkakube chaos crash-actor`. Crash injection is
/// implemented for the controllers of the controller-manager singleton (each has a hook that throws on
/// <see cref="ControllerProtocol.InjectCrash"/>); the controller-manager restarts exactly that child, which re-lists.
/// Works from any node: the request goes through the singleton proxy to wherever the singleton runs.
/// </summary>
public sealed class ChaosPalette(IActorRegistry registry) : ICmdPalette
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);

    public string Name => "chaos";

    public string Description => "supervision faults: crash a controller, controller start counts";

    public IReadOnlyList<CmdCommand> Commands =>
    [
        new("crash", "make the actor at <path> throw (controllers: a name like replicaset or a path …/controller-manager/controller-manager/replicaset)",
            [CmdArg.Positional("path", "controller name or actor path")], Crash),
        new("starts", "how many times each controller has started (1 = never restarted)", [], Starts),
    ];

    /// <summary>The controller a path or name denotes, or null. Accepts "replicaset", "/user/controller-manager/controller-manager/replicaset" and full addresses.</summary>
    public static string? ControllerOf(string path)
    {
        var last = path.TrimEnd('/').Split('/').Last();
        if (!ControllerNames.All.Contains(last)) return null;
        if (!path.Contains('/')) return last;
        return path.Contains($"/{AkkaKubeNames.Actors.ControllerManager}/", StringComparison.Ordinal) ? last : null;
    }

    private IActorRef Manager() =>
        registry.TryGet<ControllerManager>(out var proxy)
            ? proxy
            : throw new CmdException("the controller-manager proxy does not run on this node (no control-plane role in this cluster?)");

    private async Task<IReadOnlyDictionary<string, int>> StartCounts(CancellationToken ct) =>
        (await Manager().Ask<ControllerManagerProtocol.Status>(new ControllerManagerProtocol.GetStatus(), AskTimeout, ct)).Starts;

    private async Task Crash(CmdCall call)
    {
        var path = call.Args.Get("path")!;
        var controller = ControllerOf(path)
            ?? throw new CmdException($"crash injection is implemented for the controllers ({string.Join(", ", ControllerNames.All)}); '{path}' is not one{Closest.DidYouMean(path, ControllerNames.All.ToList())}");
        var before = await StartCounts(call.Cancelled);
        var accepted = await Manager().Ask<ControllerManagerProtocol.CrashAccepted>(new ControllerManagerProtocol.CrashController(controller), AskTimeout, call.Cancelled);
        if (!accepted.Found) throw new CmdException($"controller '{controller}' is not running (not enabled, or stopped after its restart budget)");
        call.Output.Table(["controller", "starts-before", "crash"], [[controller, before.GetValueOrDefault(controller).ToString(), "injected"]]);
    }

    private async Task Starts(CmdCall call)
    {
        var starts = await StartCounts(call.Cancelled);
        call.Output.Table(["controller", "starts"], starts.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => (IReadOnlyList<string>)[s.Key, s.Value.ToString()]));
    }
}

public static class ChaosPaletteHostingExtensions
{
    /// <summary>Registers the `chaos` command-host palette (every node; it talks to the controller-manager through its singleton proxy).</summary>
    public static AkkaConfigurationBuilder AddChaosPalette(this AkkaConfigurationBuilder builder) =>
        builder.AddCmdPalette((_, registry) => new ChaosPalette(registry));
}
