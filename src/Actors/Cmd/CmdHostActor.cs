using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Event;
using Akka.Hosting;
using Akka.Pattern;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Cmd.Palettes;

namespace AkkaKube.Actors.Cmd;

/// <summary>
/// The node's command host (the Petabridge.Cmd equivalent). A <see cref="TcpListener"/> owned and driven by this
/// actor: each accept is a task piped back to the actor, which starts one <see cref="CmdConnectionActor"/> per
/// client. Failing connections are stopped alone; this actor itself runs under a back-off supervisor
/// (/user/cmd → /user/cmd/listener), so a listener failure rebinds after 1 s, 2 s, … instead of killing the node.
/// </summary>
public sealed class CmdHostActor : ReceiveActor
{
    /// <summary>Ask the listener for its bound endpoint (useful when the port was 0).</summary>
    public sealed class GetEndpoint
    {
        public static readonly GetEndpoint Instance = new();
        private GetEndpoint() { }
    }

    private sealed record AcceptFailed(Exception Cause);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly NodeOptions _node;
    private readonly CmdSettings _settings;
    private TcpListener? _listener;
    private int _connections;
    private bool _stopping;

    public CmdHostActor(NodeOptions node, CmdSettings settings)
    {
        _node = node;
        _settings = settings;

        Receive<TcpClient>(client =>
        {
            if (Context.GetChildren().Count() >= _settings.MaxConnections)
            {
                _log.Warning("command host: refusing a connection, {0} are open (akkakube.cmd.max-connections)", _settings.MaxConnections);
                try
                {
                    using var stream = client.GetStream();
                    var line = System.Text.Encoding.UTF8.GetBytes(CmdWire.Serialize(CmdReply.Fail("too many open command connections")) + "\n");
                    stream.Write(line);
                }
                catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException) { }
                client.Dispose();
            }
            else
            {
                Context.ActorOf(CmdConnectionActor.Props(client, _node, _settings), $"conn-{++_connections}");
            }
            Accept();
        });
        Receive<AcceptFailed>(f =>
        {
            if (_stopping) return;
            throw new IOException($"command host accept failed: {f.Cause.Message}", f.Cause);
        });
        Receive<GetEndpoint>(_ => Sender.Tell(_listener?.LocalEndpoint ?? new IPEndPoint(IPAddress.None, 0)));
    }

    protected override void PreStart()
    {
        _listener = new TcpListener(_node.CmdAddress, _node.CmdPort);
        _listener.Start();
        _log.Info("command host listening on {0} (akkakube cmd {0})", _listener.LocalEndpoint);
        Accept();
    }

    protected override void PostStop()
    {
        _stopping = true;
        _listener?.Stop();
    }

    protected override SupervisorStrategy SupervisorStrategy() => Akka.Actor.SupervisorStrategy.StoppingStrategy;

    private void Accept() =>
        _listener!.AcceptTcpClientAsync().PipeTo(Self, failure: e => new AcceptFailed(e));

    public static Props Props(NodeOptions node, CmdSettings settings) =>
        Akka.Actor.Props.Create(() => new CmdHostActor(node, settings));

    /// <summary>The supervised host: a back-off supervisor named `cmd` around the listener.</summary>
    public static Props SupervisedProps(NodeOptions node, CmdSettings settings) =>
        BackoffSupervisor.Props(Backoff.OnFailure(Props(node, settings), "listener",
            TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), 0.2, -1));
}

/// <summary>Registry key of the command host's supervisor.</summary>
public sealed class CmdHost;

public static class CmdHostingExtensions
{
    /// <summary>
    /// Starts the command host with the built-in palettes (cluster, actor, log) and the log/failure listener.
    /// Other components add palettes with <see cref="AddCmdPalette"/>.
    /// </summary>
    public static AkkaConfigurationBuilder AddCmdHost(this AkkaConfigurationBuilder builder, NodeOptions node) =>
        builder.WithActors((system, registry) =>
        {
            var settings = CmdSettings.Create(system.Settings.Config);
            system.ActorOf(DiagnosticsListener.Props(), "cmd-diagnostics");
            var palettes = CmdPaletteRegistry.Get(system);
            palettes.Register(new ClusterPalette(settings));
            palettes.Register(new ActorPalette());
            palettes.Register(new LogPalette());
            // a token always: the one given (--cmd-token) or the data directory's (created on first start)
            var secured = node with { CmdToken = string.IsNullOrEmpty(node.CmdToken) ? CmdTokenFile.LoadOrCreate(node.DataDirectory) : node.CmdToken };
            registry.Register<CmdHost>(system.ActorOf(CmdHostActor.SupervisedProps(secured, settings), AkkaKubeNames.Actors.CmdHost));
        });

    /// <summary>Registers a palette at start-up; the factory gets the system and the actor registry (for IActorRefs it needs).</summary>
    public static AkkaConfigurationBuilder AddCmdPalette(this AkkaConfigurationBuilder builder, Func<ActorSystem, IActorRegistry, ICmdPalette> factory) =>
        builder.WithActors((system, registry) => CmdPaletteRegistry.Get(system).Register(factory(system, registry)));
}
