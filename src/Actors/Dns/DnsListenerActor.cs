using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Event;
using ARSoft.Tools.Net.Dns;

namespace AkkaKube.Actors.Dns;

/// <summary>
/// One DNS server socket pair (UDP and TCP) on one address:port, answering through the shared <see cref="DnsQueryHandler"/>.
/// A bind that fails (the address is not there yet — a CNI bridge appears with the node's first pod — or the port is
/// taken) is retried every <see cref="DnsSettings.BindRetry"/> and logged once; the sockets close when the actor stops.
/// </summary>
public sealed class DnsListenerActor : ReceiveActor, IWithTimers
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IPEndPoint _endpoint;
    private readonly DnsQueryHandler _handler;
    private readonly DnsSettings _settings;
    private DnsServer? _server;
    private string? _lastError;

    public ITimerScheduler Timers { get; set; } = null!;

    public DnsListenerActor(IPEndPoint endpoint, DnsQueryHandler handler, DnsSettings settings)
    {
        _endpoint = endpoint;
        _handler = handler;
        _settings = settings;
        Receive<Bind>(_ => TryBind());
        Receive<DnsProtocol.GetListening>(_ => Sender.Tell(new DnsProtocol.Listening(_endpoint, _server is not null)));
    }

    public static Props Props(IPEndPoint endpoint, DnsQueryHandler handler, DnsSettings settings) =>
        Akka.Actor.Props.Create(() => new DnsListenerActor(endpoint, handler, settings));

    private sealed class Bind
    {
        public static readonly Bind Instance = new();
    }

    protected override void PreStart() => TryBind();

    protected override void PostStop()
    {
        try
        {
            _server?.Stop();
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or ObjectDisposedException or InvalidOperationException)
        {
            _log.Debug("dns {0}: closing: {1}", _endpoint, e.Message); // closing anyway: nothing left to release
        }
    }

    private void TryBind()
    {
        // TCP idle timeout 10 s, as RFC 7766 suggests for servers; UDP responses larger than the client's EDNS size are truncated (TC).
        var server = new DnsServer(new UdpServerTransport(_endpoint, 2000), new TcpServerTransport(_endpoint, 10_000, 10_000));
        server.QueryReceived += OnQuery;
        server.ExceptionThrown += (_, e) =>
        {
            _log.Debug("dns {0}: {1}", _endpoint, e.Exception.Message);
            return Task.CompletedTask;
        };
        try
        {
            server.Start();
            _server = server;
            _log.Info("cluster DNS serving {0} (udp, tcp)", _endpoint);
        }
        catch (SocketException e)
        {
            try { server.Stop(); } catch (Exception) { /* partially bound: nothing more to release */ }
            if (_lastError != e.Message) _log.Warning("cluster DNS cannot bind {0} yet ({1}); retrying every {2}", _endpoint, e.Message, _settings.BindRetry);
            _lastError = e.Message;
            Timers.StartSingleTimer("bind", Bind.Instance, _settings.BindRetry);
        }
    }

    private async Task OnQuery(object sender, QueryReceivedEventArgs e)
    {
        if (e.Query is not DnsMessage query) return; // update/other message kinds: the library answers NOTIMP
        try
        {
            e.Response = await _handler.AnswerAsync(query);
        }
        catch (Exception ex)
        {
            // A query must never take the server down: whatever failed, the client gets SERVFAIL.
            _log.Warning("dns {0}: query for {1} failed: {2}", _endpoint, query.Questions.FirstOrDefault()?.Name, ex.Message);
            var response = query.CreateResponseInstance();
            response.ReturnCode = ReturnCode.ServerFailure;
            e.Response = response;
        }
    }
}
