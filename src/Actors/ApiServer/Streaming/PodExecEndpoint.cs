using System.Net.WebSockets;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Akka.Actor;
using AkkaKube.Actors.Kubelet;
using AkkaKube.Actors.Machinery;
using Microsoft.AspNetCore.Http;
using static AkkaKube.Actors.Kubelet.KubeletProtocol;

namespace AkkaKube.Actors.ApiServer.Streaming;

/// <summary>
/// pods/{name}/exec (kubectl exec, cp): checks the request, the pod and the container as the apiserver does, asks the
/// pod's kubelet (found as for logs, <see cref="PodLogEndpoint.KubeletOfPodAsync"/>) for an <see cref="ExecSession"/>
/// through a <see cref="StreamRelay"/> actor, and only then upgrades to a WebSocket speaking <see cref="RemoteCommand"/>.
/// Errors before the upgrade are Status responses (kubectl then tries SPDY, which is refused with the same Status).
/// </summary>
public static class PodExecEndpoint
{
    private static readonly TimeSpan FirstAnswerTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(5);

    public static async Task ServeAsync(HttpContext ctx, ActorSystem system, string ns, string name)
    {
        var q = ctx.Request.Query;
        var (stdin, stdout, stderr, tty) = Flags(q);
        var command = q["command"].Where(c => c is not null).Select(c => c!).ToList();
        if (command.Count == 0) throw ApiException.BadRequest("you must specify at least one command for the container");
        var (pod, nodeName, kubelet) = await PodLogEndpoint.KubeletOfPodAsync(system, ns, name, ctx.RequestAborted);
        var container = ContainerOf(pod, name, q["container"].ToString());
        await RelayAsync(ctx, system, nodeName, kubelet, new StartExec(ns, name, container, command, stdin, stdout, stderr, tty));
    }

    /// <summary>
    /// pods/{name}/attach (kubectl attach, run -i): the same checks and protocol as exec, to the container's own process —
    /// its live output, and its stdin when the container has one (without, the kubelet drops what the client sends, as
    /// containerd does). The session ends when the client detaches (the container keeps running) or the container ends.
    /// </summary>
    public static async Task ServeAttachAsync(HttpContext ctx, ActorSystem system, string ns, string name)
    {
        var q = ctx.Request.Query;
        var (stdin, stdout, stderr, tty) = Flags(q);
        var (pod, nodeName, kubelet) = await PodLogEndpoint.KubeletOfPodAsync(system, ns, name, ctx.RequestAborted);
        var container = ContainerOf(pod, name, q["container"].ToString());
        await RelayAsync(ctx, system, nodeName, kubelet, new StartAttach(ns, name, container, stdin, stdout, stderr, tty));
    }

    private static (bool Stdin, bool Stdout, bool Stderr, bool Tty) Flags(IQueryCollection q)
    {
        bool Bool(string key) => q[key].ToString() is "true" or "1" or "True";
        var (stdin, stdout, stderr, tty) = (Bool("stdin"), Bool("stdout"), Bool("stderr"), Bool("tty"));
        if (!stdin && !stdout && !stderr) throw ApiException.BadRequest("you must specify at least 1 of stdin, stdout, stderr");
        return (stdin, stdout, stderr, tty);
    }

    /// <summary>Asks the kubelet for the session and, once it runs, upgrades to the WebSocket and relays both ways.</summary>
    private static async Task RelayAsync(HttpContext ctx, ActorSystem system, string nodeName, ActorSelection? kubelet, IPodStreamRequest request)
    {
        if (kubelet is null) throw PodLogEndpoint.NoKubelet(nodeName);
        var protocol = RemoteCommand.Negotiate(ctx.WebSockets.WebSocketRequestedProtocols);
        ApiException? notWebSocket = null;
        if (!ctx.WebSockets.IsWebSocketRequest)
        {
            notWebSocket = ApiException.BadRequest(ctx.Request.Headers.Upgrade.ToString().StartsWith("SPDY", StringComparison.OrdinalIgnoreCase)
                ? "SPDY/3.1 streaming is not served by AkkaKube: exec and attach speak WebSocket (v5.channel.k8s.io); leave KUBECTL_REMOTE_COMMAND_WEBSOCKETS unset or true"
                : "Upgrade request required");
            // kubectl prints the answer of its SPDY retry: an attach (nothing runs) asks the kubelet first, so a refusal
            // (container not running) reaches the user in the kubelet's words; an exec must not start its command.
            if (request is not StartAttach) throw notWebSocket;
        }
        else if (protocol is null)
            throw ApiException.BadRequest($"unable to upgrade: none of the requested subprotocols [{string.Join(", ", ctx.WebSockets.WebSocketRequestedProtocols)}] is served (serving {string.Join(", ", RemoteCommand.Protocols)})");

        var toClient = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var stdinWindow = new SemaphoreSlim(StreamWindow, StreamWindow);
        var relay = system.ActorOf(StreamRelay.Props(toClient.Writer, stdinWindow, kubelet, request));
        try
        {
            using (var first = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted))
            {
                first.CancelAfter(FirstAnswerTimeout);
                object answer;
                try { answer = await toClient.Reader.ReadAsync(first.Token); }
                catch (OperationCanceledException) when (!ctx.RequestAborted.IsCancellationRequested)
                {
                    throw new ApiException(504, "Timeout", $"the kubelet of node {nodeName} did not answer within {FirstAnswerTimeout.TotalSeconds:0}s");
                }
                catch (ChannelClosedException)
                {
                    throw new ApiException(503, "ServiceUnavailable", $"the kubelet of node {nodeName} ended the session before it started");
                }
                if (answer is StreamRefused refused) throw new ApiException(refused.Code, refused.Reason, refused.Message);
                if (notWebSocket is not null) throw notWebSocket; // the session is stopped below (an attach detaches)
            }
            using var socket = await ctx.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { SubProtocol = protocol!, KeepAliveInterval = TimeSpan.FromSeconds(30) });
            using var done = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted);
            var reading = ReadClientAsync(socket, protocol!, relay, stdinWindow, done.Token);
            await WriteClientAsync(socket, toClient.Reader, relay, done.Token);
            // the client closes its side once it read the status; a client that does not is cut off
            if (await Task.WhenAny(reading, Task.Delay(CloseTimeout, ctx.RequestAborted)) != reading) socket.Abort();
            await done.CancelAsync();
            try { await reading; } catch (Exception e) when (e is OperationCanceledException or WebSocketException) { }
        }
        finally
        {
            system.Stop(relay); // the session watches the relay: a client gone kills the command (exec) or detaches (attach)
        }
    }

    /// <summary>The container asked for, or the pod's only one; Kubernetes' 400s otherwise.</summary>
    internal static string ContainerOf(JsonObject pod, string podName, string requested)
    {
        static IEnumerable<string> Names(JsonNode? list) =>
            (list as JsonArray ?? []).Select(c => Meta.Str(c?["name"])).Where(n => n.Length > 0);
        var main = Names(pod["spec"]?["containers"]).ToList();
        if (requested.Length == 0)
        {
            if (main.Count == 1) return main[0];
            throw ApiException.BadRequest($"a container name must be specified for pod {podName}, choose one of: [{string.Join(" ", main)}]");
        }
        var all = main.Concat(Names(pod["spec"]?["initContainers"])).Concat(Names(pod["spec"]?["ephemeralContainers"]));
        if (!all.Contains(requested)) throw ApiException.BadRequest($"container {requested} is not valid for pod {podName}");
        return requested;
    }

    /// <summary>Client → kubelet: stdin (each waits for window space), v5's close of stdin; resize is not applied.</summary>
    private static async Task ReadClientAsync(WebSocket socket, string protocol, IActorRef relay, SemaphoreSlim stdinWindow, CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        while (true)
        {
            var r = await socket.ReceiveAsync(buffer, ct);
            if (r.MessageType == WebSocketMessageType.Close)
            {
                relay.Tell(new StreamRelay.ToKubelet(StreamCloseStdin.Instance));
                return;
            }
            message.Write(buffer, 0, r.Count);
            if (!r.EndOfMessage) continue;
            var incoming = RemoteCommand.Parse(message.ToArray(), protocol);
            message.SetLength(0);
            switch (incoming.Kind)
            {
                case RemoteCommand.IncomingKind.Stdin when incoming.Data.Length > 0:
                    await stdinWindow.WaitAsync(ct);
                    relay.Tell(new StreamRelay.ToKubelet(new StreamData(RemoteCommand.Stdin, incoming.Data.ToArray())));
                    break;
                case RemoteCommand.IncomingKind.CloseChannel when incoming.Channel == RemoteCommand.Stdin:
                    relay.Tell(new StreamRelay.ToKubelet(StreamCloseStdin.Instance));
                    break;
            }
        }
    }

    /// <summary>Kubelet → client: output frames (each acknowledged once sent), then the exit Status on channel 3 and a normal close.</summary>
    private static async Task WriteClientAsync(WebSocket socket, ChannelReader<object> fromKubelet, IActorRef relay, CancellationToken ct)
    {
        JsonObject status;
        while (true)
        {
            object message;
            try { message = await fromKubelet.ReadAsync(ct); }
            catch (ChannelClosedException)
            {
                status = RemoteCommand.ExitStatus(0, "the exec session ended: its kubelet or container went away");
                break;
            }
            if (message is StreamData data)
            {
                await socket.SendAsync(RemoteCommand.Frame((byte)data.Channel, data.Data), WebSocketMessageType.Binary, true, ct);
                relay.Tell(new StreamRelay.ToKubelet(StreamAck.Instance));
            }
            else if (message is StreamExit exit)
            {
                status = RemoteCommand.ExitStatus(exit.ExitCode, exit.Error);
                break;
            }
        }
        await socket.SendAsync(RemoteCommand.Frame(RemoteCommand.Error, System.Text.Encoding.UTF8.GetBytes(status.ToJsonString())), WebSocketMessageType.Binary, true, ct);
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", ct);
    }
}

/// <summary>
/// The apiserver's end of one stream session: asks the kubelet, then passes the session's messages to the HTTP handler
/// (a channel) and the handler's (<see cref="ToKubelet"/>) to the session. Watches the session; stopping it (the request
/// ended) ends the session, which watches it.
/// </summary>
public sealed class StreamRelay : ReceiveActor
{
    /// <summary>From the HTTP handler, for the session (local only).</summary>
    public sealed record ToKubelet(object Message);

    private readonly ChannelWriter<object> _toClient;
    private readonly ActorSelection _kubelet;
    private readonly object _request;

    public StreamRelay(ChannelWriter<object> toClient, SemaphoreSlim stdinWindow, ActorSelection kubelet, object request)
    {
        _toClient = toClient;
        _kubelet = kubelet;
        _request = request;
        var pending = new List<object>();
        Receive<StreamStarted>(s =>
        {
            var session = Sender;
            Context.Watch(session);
            _toClient.TryWrite(s);
            foreach (var p in pending) session.Tell(p);
            Become(() =>
            {
                Receive<StreamData>(d => _toClient.TryWrite(d));
                Receive<StreamAck>(_ => stdinWindow.Release());
                Receive<StreamExit>(e => End(e));
                Receive<ToKubelet>(m => session.Tell(m.Message));
                Receive<Terminated>(_ => End(null)); // the kubelet, its node or the session died
            });
        });
        Receive<StreamRefused>(r => End(r));
        Receive<ToKubelet>(m => pending.Add(m.Message));
    }

    protected override void PreStart() => _kubelet.Tell(_request, Self);

    public static Props Props(ChannelWriter<object> toClient, SemaphoreSlim stdinWindow, ActorSelection kubelet, object request) =>
        Akka.Actor.Props.Create(() => new StreamRelay(toClient, stdinWindow, kubelet, request));

    private void End(object? last)
    {
        if (last is not null) _toClient.TryWrite(last);
        _toClient.TryComplete();
        Context.Stop(Self);
    }

    protected override void PostStop() => _toClient.TryComplete();
}
