using AkkaKube.Actors.Security;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Akka.Event;
using Akka.Actor;
using AkkaKube.Actors.Machinery;
using Microsoft.AspNetCore.Http;
using static AkkaKube.Actors.Machinery.ApiServerProtocol;

namespace AkkaKube.Actors.ApiServer;

// Watch streaming: a sink actor receives the partition's events and the response loop writes them as JSON lines
// (or one-row Tables for `kubectl get -w`) until timeoutSeconds, the client leaving, or the partition ending the watch.
public static partial class ApiHttpFront
{

    private static async Task WatchAsync(HttpContext ctx, ApiFrontend frontend, ApiPipeline pipeline, RequestInfo info, Dictionary<string, string> query, UserInfo user)
    {
        var registration = frontend.Registry.Find(info.Group, info.Version, info.Resource);
        var res = registration?.Resource;
        var channel = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
        var buffer = new WatchBuffer(frontend.Settings.WatchBufferEvents, frontend.Settings.WatchBufferBytes, frontend.Settings.WatchCutOffGrace);
        var sink = frontend.System.ActorOf(Props.Create(() => new WatchSinkActor(channel.Writer, buffer)));
        var watchId = Guid.NewGuid().ToString("N");
        query["watchId"] = watchId;
        var accept = ctx.Request.Headers.Accept.ToString();
        var table = Tables.Wanted(accept) && res is not null;
        var tableVersion = Tables.ApiVersionFor(accept);
        var bookmarks = query.TryGetValue("allowWatchBookmarks", out var b) && b is "true" or "1";
        var timeout = frontend.Settings.MaxWatchDuration;
        if (query.TryGetValue("timeoutSeconds", out var ts) && ts.Length > 0)
        {
            if (!long.TryParse(ts, out var seconds) || seconds < 0) throw ApiException.BadRequest($"invalid timeoutSeconds \"{ts}\"");
            if (seconds > 0 && seconds < timeout.TotalSeconds) timeout = TimeSpan.FromSeconds(seconds);
        }
        var started = false;
        try
        {
            var response = await pipeline.HandleAsync(
                new ApiRequest("watch", info.Group, info.Version, info.Resource, info.Namespace, null, null, query, null, null, sink) { User = user }, ctx.RequestAborted);
            if (response.Code != 200 && response.Code != 410)
            {
                await WriteRaw(ctx, response.Code, response.Body);
                return;
            }
            started = response.Code == 200;
            ctx.Response.StatusCode = 200;
            ctx.Response.ContentType = "application/json";
            ctx.Response.Headers.CacheControl = "no-cache, private";
            ctx.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();
            // A watch's own bounds (watch-buffer-bytes/-events, then watch-cutoff-grace) decide when a slow client is
            // cut off, with a 410 it understands, not Kestrel's minimum response data rate.
            if (ctx.Features.Get<Microsoft.AspNetCore.Server.Kestrel.Core.Features.IHttpMinResponseDataRateFeature>() is { } rate) rate.MinDataRate = null;
            await ctx.Response.StartAsync(ctx.RequestAborted);
            await ctx.Response.Body.FlushAsync(ctx.RequestAborted); // clients wait for the headers before they go on
            if (response.Code == 410)
            {
                await WriteEvent(ctx, "ERROR", JsonNode.Parse(response.Body)!, ctx.RequestAborted);
                return;
            }

            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted);
            cts.CancelAfter(timeout);
            // A write blocked on a client that does not read is abandoned a grace after its buffer overflowed (or when the watch's time is up).
            using var writing = CancellationTokenSource.CreateLinkedTokenSource(cts.Token, buffer.CutOff);
            while (true)
            {
                object message;
                try
                {
                    message = await channel.Reader.ReadAsync(cts.Token);
                }
                catch (OperationCanceledException)
                {
                    return; // timeoutSeconds reached or the client went away: end the stream
                }
                catch (ChannelClosedException) when (buffer.Overflowed)
                {
                    message = buffer.OverflowEnd;
                }
                if (buffer.Overflowed)
                {
                    // cut off now, not after draining what is queued
                    await CutOffAsync(ctx, frontend, buffer, info, writeBlocked: false);
                    return;
                }
                try
                {
                    switch (message)
                    {
                        case WatchProtocol.WatchEvent ev:
                            buffer.Taken(ev);
                            if (ev.Type == "BOOKMARK" && !bookmarks) continue;
                            var obj = JsonNode.Parse(ev.ObjectJson)!;
                            // the partition sends the storage version; the client asked for this resource's version
                            if (ev.Type != "BOOKMARK" && registration is not null && obj is JsonObject stored) obj = registration.Strategy.FromStorage(stored);
                            if (table && ev.Type != "BOOKMARK") obj = Tables.ToTable(registration!.Strategy.Columns, WithRv(obj, ev.Revision), tableVersion);
                            await WriteEvent(ctx, ev.Type, obj, writing.Token);
                            ApiServerMetrics.WatchEventSent(info.Group, info.Version, res?.Kind ?? info.Resource);
                            break;
                        case WatchProtocol.WatchEnded ended:
                            if (ended.Code == 410)
                                await WriteEvent(ctx, "ERROR", ApiStatus.Failure(410, "Expired", string.IsNullOrEmpty(ended.Message) ? "too old resource version" : ended.Message));
                            else if (ended.Code == 504 && ended.Message.StartsWith("Too large resource version", StringComparison.Ordinal))
                                // as Kubernetes' NewTooLargeResourceVersionError: client-go recognises the cause and re-lists
                                await WriteEvent(ctx, "ERROR", ApiStatus.Failure(504, "Timeout", ended.Message, new JsonObject
                                {
                                    ["causes"] = new JsonArray(new JsonObject { ["reason"] = "ResourceVersionTooLarge", ["message"] = "Too large resource version" }),
                                    ["retryAfterSeconds"] = 1,
                                }));
                            else if (ended.Code >= 400)
                                await WriteEvent(ctx, "ERROR", ApiStatus.Failure(ended.Code, string.IsNullOrEmpty(ended.Reason) ? ApiStatus.ReasonFor(ended.Code) : ended.Reason, ended.Message));
                            return; // the partition ended the watch: close, clients re-list
                    }
                }
                catch (OperationCanceledException) when (buffer.Overflowed)
                {
                    await CutOffAsync(ctx, frontend, buffer, info, writeBlocked: true);
                    return;
                }
                catch (OperationCanceledException) when (!ctx.RequestAborted.IsCancellationRequested)
                {
                    ctx.Abort(); // the watch's time ran out while a write was blocked on the client: nothing more can be sent
                    return;
                }
            }
        }
        finally
        {
            if (started && res is not null)
                pipelineCancel(pipeline, res, watchId);
            frontend.System.Stop(sink);
        }

        static void pipelineCancel(ApiPipeline p, ApiResource r, string id) => p.CancelWatch(r, id);
    }

    private static JsonNode WithRv(JsonNode obj, long revision)
    {
        // a one-row Table per event; its resourceVersion is the object's
        if (obj["metadata"]?["resourceVersion"] is null && obj["metadata"] is JsonObject m) m["resourceVersion"] = revision.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var copy = obj.DeepClone();
        var single = new JsonObject { ["metadata"] = new JsonObject { ["resourceVersion"] = obj["metadata"]?["resourceVersion"]?.DeepClone() }, ["items"] = new JsonArray(copy) };
        return single;
    }

    private static Task WriteEvent(HttpContext ctx, string type, JsonNode obj) => WriteEvent(ctx, type, obj, ctx.RequestAborted);

    private static async Task WriteEvent(HttpContext ctx, string type, JsonNode obj, CancellationToken ct)
    {
        var line = new JsonObject { ["type"] = type, ["object"] = obj.DeepClone() }.ToJsonString() + "\n";
        await ctx.Response.WriteAsync(line, ct);
        await ctx.Response.Body.FlushAsync(ct);
    }

    /// <summary>
    /// Ends the watch of a client that fell behind its buffer: a 410 Expired ERROR event (client-go re-lists) if the
    /// client takes it within the grace, else the connection is closed, as kube-apiserver forces an unresponsive
    /// watcher closed. A write still blocked on the client a grace after the bound passed is cancelled, and Kestrel
    /// closes a connection whose write is cancelled: that client gets the closed connection. Nothing more is queued for it.
    /// </summary>
    private static async Task CutOffAsync(HttpContext ctx, ApiFrontend frontend, WatchBuffer buffer, RequestInfo info, bool writeBlocked)
    {
        var end = buffer.OverflowEnd;
        frontend.System.Log.Info("watch of {0} from {1} cut off ({2}): {3}", info.Resource, ctx.Connection.RemoteIpAddress,
            writeBlocked ? "connection closed, it was not reading" : "410 ERROR event", end.Message);
        if (writeBlocked)
        {
            ctx.Abort();
            return;
        }
        using var grace = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted);
        grace.CancelAfter(frontend.Settings.WatchCutOffGrace);
        try
        {
            await WriteEvent(ctx, "ERROR", ApiStatus.Failure(end.Code, end.Reason, end.Message), grace.Token);
        }
        catch (OperationCanceledException)
        {
            ctx.Abort();
        }
    }
}

/// <summary>Receives a watch's events for the HTTP front and hands them to the response loop.</summary>
internal sealed class WatchSinkActor : ReceiveActor
{
    public WatchSinkActor(ChannelWriter<object> writer, WatchBuffer buffer)
    {
        Receive<WatchProtocol.WatchEvent>(e =>
        {
            if (buffer.Offer(e)) writer.TryWrite(e);
            else writer.TryComplete();
        });
        Receive<WatchProtocol.WatchEnded>(e =>
        {
            writer.TryWrite(e);
            writer.TryComplete();
        });
        // A partition that dies with its node (kill -9) cannot end the watch: death-watch it (the sender of
        // WatchStarted) and close the stream, so the client re-watches from its last resourceVersion.
        Receive<WatchProtocol.WatchStarted>(_ =>
        {
            if (!Sender.IsNobody() && !Sender.Equals(Context.System.DeadLetters)) Context.Watch(Sender);
        });
        Receive<Terminated>(t =>
        {
            writer.TryWrite(new WatchProtocol.WatchEnded("", 0, "", $"store partition {t.ActorRef.Path.Name} terminated"));
            writer.TryComplete();
        });
        ReceiveAny(_ => { });
    }

    protected override void PostStop() { }
}
/// <summary>
/// What a watch has queued for its client, in events and bytes. A client that reads slower than events arrive
/// (or not at all) is cut off once either bound is passed, rather than buffered without bound in the apiserver.
/// </summary>
internal sealed class WatchBuffer(int maxEvents, long maxBytes, TimeSpan cutOffGrace = default)
{
    private long _events;
    private long _bytes;
    private volatile bool _overflowed;
    // never disposed: its one timer ends by itself, and the sink may still offer an event after the response ended
    private readonly CancellationTokenSource _cutOff = new();

    public bool Overflowed => _overflowed;

    /// <summary>Cancelled a grace after a bound is passed: a write still blocked on the client gives up.</summary>
    public CancellationToken CutOff => _cutOff.Token;

    /// <summary>The end a cut-off client gets: 410, as for a resourceVersion gone from the window, so it re-lists.</summary>
    public WatchProtocol.WatchEnded OverflowEnd => new("", 410, "Expired",
        $"the watch was closed: its client fell more than {maxEvents} events or {maxBytes} bytes behind (akkakube.apiserver.watch-buffer-events/-bytes); list again and watch from there");

    /// <summary>Counts an event in; false (and the watch is over) when a bound is passed.</summary>
    public bool Offer(WatchProtocol.WatchEvent e)
    {
        if (_overflowed) return false;
        var events = Interlocked.Increment(ref _events);
        var bytes = Interlocked.Add(ref _bytes, e.ObjectJson.Length);
        if (events <= maxEvents && bytes <= maxBytes) return true;
        _overflowed = true;
        if (cutOffGrace > TimeSpan.Zero) _cutOff.CancelAfter(cutOffGrace);
        else _cutOff.Cancel();
        return false;
    }


    public void Taken(WatchProtocol.WatchEvent e)
    {
        Interlocked.Decrement(ref _events);
        Interlocked.Add(ref _bytes, -e.ObjectJson.Length);
    }
}
