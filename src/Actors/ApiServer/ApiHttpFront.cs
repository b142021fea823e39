using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Hosting;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Security;
using AkkaKube.Actors.Store;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static AkkaKube.Actors.ApiServer.ApiServerProtocol;

namespace AkkaKube.Actors.ApiServer;

/// <summary>Gives the HTTP front its pipeline once the store region is registered.</summary>
public sealed class ApiFrontend(ActorSystem system, ActorRegistry registry, ILogger<ApiFrontend> log)
{
    private ApiPipeline? _pipeline;

    public ActorSystem System => system;
    public ILogger Log => log;
    public ApiServerSettings Settings { get; } = ApiServerSettings.Create(system.Settings.Config);

    public async Task<ApiPipeline> PipelineAsync(CancellationToken ct)
    {
        if (_pipeline is not null) return _pipeline;
        IActorRef store;
        try
        {
            store = await registry.GetAsync<StoreRegion>(ct).WaitAsync(Settings.StoreTimeout, ct);
        }
        catch (TimeoutException)
        {
            throw new ApiException(503, "ServiceUnavailable", "the store is not available on this control-plane node yet; retry");
        }
        _pipeline = new ApiPipeline(store, Settings, new Eviction.PodDisruptionBudgetPolicy(store, Settings.StoreTimeout), onUnexpected: e => log.LogError(e, "unexpected error in the apiserver pipeline"),
            serviceAllocator: () => registry.TryGet<Services.ServiceAllocator>(out var allocator) ? allocator : null);
        return _pipeline;
    }
}

/// <summary>
/// The apiserver's HTTP front on Kestrel: listening socket with SO_REUSEPORT (several local
/// control-plane processes share one address), discovery, OpenAPI, health and the REST routes,
/// all turned into <see cref="ApiRequest"/>s for the shared <see cref="ApiPipeline"/>.
/// </summary>
public static class ApiHttpFront
{
    public static void ConfigureApiServerWeb(this WebApplicationBuilder builder, NodeOptions node, Akka.Configuration.Config config)
    {
        if (!node.ControlPlane) return;
        builder.Services.AddSingleton<ApiFrontend>();
        var security = ApiServerSecurity.Create(node, config);
        builder.Services.AddSingleton(security);
        builder.WebHost.UseSockets(o => o.CreateBoundListenSocket = endpoint =>
        {
            var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            if (OperatingSystem.IsLinux())
                socket.SetRawSocketOption(1 /* SOL_SOCKET */, 15 /* SO_REUSEPORT */, BitConverter.GetBytes(1));
            socket.Bind(endpoint);
            return socket;
        });
        builder.WebHost.ConfigureKestrel(o =>
        {
            o.Limits.MaxRequestBodySize = null; // the front enforces its own limit with a 413 Status
            o.AddServerHeader = false;
            if (security.ServingCertificate is { } certificate)
                o.Listen(node.ApiAddress, node.ApiPort, listen => listen.UseHttps(ApiTls.HttpsOptions(certificate)));
            else
                o.Listen(node.ApiAddress, node.ApiPort);
        });
    }

    public static void MapApiServer(this WebApplication app, NodeOptions node)
    {
        if (!node.ControlPlane) return;
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("AkkaKube.ApiServer");
        var authenticator = app.Services.GetRequiredService<ApiServerSecurity>().Authenticator;
        ApiTls.LogStart(log, node, authenticator);
        var frontend = app.Services.GetRequiredService<ApiFrontend>();
        var serverAddress = $"{node.ApiAddress}:{node.ApiPort}";
        OpenApi.OpenApiService.Warm();
        app.Run(ctx => HandleAsync(ctx, frontend, authenticator, serverAddress));
    }

    private static async Task HandleAsync(HttpContext ctx, ApiFrontend frontend, ApiAuthenticator authenticator, string serverAddress)
    {
        try
        {
            if (authenticator.Authenticate(ctx.Request.Path.Value ?? "/", ctx.Connection.ClientCertificate, ctx.Request.Headers.Authorization.ToString()) is not { } user)
            {
                await WriteJson(ctx, 401, ApiStatus.Failure(401, "Unauthorized", "Unauthorized"));
                return;
            }
            await RouteAsync(ctx, frontend, serverAddress, user);
        }
        catch (ApiException e)
        {
            await WriteJson(ctx, e.Code, e.ToStatus());
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException e)
        {
            // The client's fault (body cut short by an abort, body over the limit): a Status to the client if it
            // is still there, never an error in the server's log.
            frontend.Log.LogDebug("bad request {Method} {Path}: {Message}", ctx.Request.Method, ctx.Request.Path, e.Message);
            if (ctx.RequestAborted.IsCancellationRequested)
                return;
            if (!ctx.Response.HasStarted)
            {
                var reason = e.StatusCode == 413 ? "RequestEntityTooLarge" : "BadRequest";
                await WriteJson(ctx, e.StatusCode, ApiStatus.Failure(e.StatusCode, reason, e.Message));
            }
            else
                ctx.Abort();
        }
        catch (Exception e)
        {
            frontend.Log.LogError(e, "unexpected error serving {Method} {Path}", ctx.Request.Method, ctx.Request.Path);
            if (!ctx.Response.HasStarted)
                await WriteJson(ctx, 500, ApiStatus.Failure(500, "InternalError", "Internal error occurred: " + e.GetType().Name));
            else
                ctx.Abort();
        }
    }

    private static async Task RouteAsync(HttpContext ctx, ApiFrontend frontend, string serverAddress, UserInfo user)
    {
        var path = ctx.Request.Path.Value ?? "/";
        var segs = path.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).ToArray();
        var method = ctx.Request.Method;
        var isGet = method is "GET" or "HEAD";

        // ---- non-resource endpoints ----
        if (segs.Length == 0) { RequireGet(isGet); await WriteJson(ctx, 200, RootPaths()); return; }
        switch (segs[0])
        {
            case "version" when segs.Length == 1:
                RequireGet(isGet);
                await WriteJson(ctx, 200, Discovery.Version());
                return;
            case "healthz" or "readyz" or "livez":
                RequireGet(isGet);
                ctx.Response.StatusCode = 200;
                ctx.Response.ContentType = "text/plain; charset=utf-8";
                await ctx.Response.WriteAsync("ok");
                return;
            case "openapi":
                RequireGet(isGet);
                await OpenApi.OpenApiEndpoint.ServeAsync(ctx, segs);
                return;
        }

        string group, version;
        int rest;
        if (segs[0] == "api")
        {
            if (segs.Length == 1)
            {
                RequireGet(isGet);
                if (Discovery.AggregatedTypeFor(ctx.Request.Headers.Accept) is { } t) await WriteJson(ctx, 200, Discovery.Aggregated(true, t), t);
                else await WriteJson(ctx, 200, Discovery.LegacyApi(serverAddress));
                return;
            }
            (group, version, rest) = ("", segs[1], 2);
        }
        else if (segs[0] == "apis")
        {
            if (segs.Length >= 2 && segs[1] == MetricsEndpoint.Group)
            {
                // metrics.k8s.io (`kubectl top`): served here from the kubelets' samples (MetricsEndpoint.cs).
                var q = ctx.Request.Query.ToDictionary(kv => kv.Key, kv => kv.Value.ToString());
                await WriteJson(ctx, 200, await MetricsEndpoint.HandleAsync(frontend.System, method, segs, q, ctx.RequestAborted));
                return;
            }
            if (segs.Length == 1)
            {
                RequireGet(isGet);
                if (Discovery.AggregatedTypeFor(ctx.Request.Headers.Accept) is { } t) await WriteJson(ctx, 200, Discovery.Aggregated(false, t), t);
                else await WriteJson(ctx, 200, Discovery.LegacyApis());
                return;
            }
            if (segs.Length == 2)
            {
                RequireGet(isGet);
                await WriteJson(ctx, 200, Discovery.LegacyGroup(segs[1]) ?? throw NotFoundPath());
                return;
            }
            (group, version, rest) = (segs[1], segs[2], 3);
        }
        else throw NotFoundPath();

        if (segs.Length == rest)
        {
            RequireGet(isGet);
            await WriteJson(ctx, 200, Discovery.ResourceList(group, version) ?? throw NotFoundPath());
            return;
        }
        if (!ApiResource.IsServedGroupVersion(group, version)) throw NotFoundPath();

        // ---- resource paths ----
        var r = segs[rest..];
        string? ns = null, resource, name = null, sub = null;
        if (r[0] == "namespaces" && r.Length >= 3 && !(r.Length == 3 && r[2] is "status" or "finalize"))
        {
            ns = r[1];
            r = r[2..];
        }
        if (r.Length > 3) throw NotFoundPath();
        resource = r[0];
        if (r.Length >= 2) name = r[1];
        if (r.Length == 3) sub = r[2];

        var query = ctx.Request.Query.ToDictionary(kv => kv.Key, kv => kv.Value.ToString());
        var watch = query.TryGetValue("watch", out var w) && w is "true" or "1";
        var verb = method switch
        {
            "GET" when watch && name is null => "watch",
            "GET" when name is null => "list",
            "GET" => "get",
            "POST" => "create",
            "PUT" => "update",
            "PATCH" => "patch",
            "DELETE" when name is null => "deletecollection",
            "DELETE" => "delete",
            _ => throw ApiException.MethodNotAllowed($"the server does not allow this method on the requested resource ({method})"),
        };

        // pods/{name}/log is served by the kubelet component (PodLogEndpoint.cs): streamed from the pod's kubelet.
        if (verb == "get" && group.Length == 0 && resource == "pods" && sub == "log" && ns is not null && name is not null)
        {
            await PodLogEndpoint.ServeAsync(ctx, frontend.System, ns, name, query);
            return;
        }

        var (contentType, body, warnings) = await ReadBody(ctx, frontend.Settings, verb);
        var pipeline = await frontend.PipelineAsync(ctx.RequestAborted);

        if (verb == "watch")
        {
            await WatchAsync(ctx, frontend, pipeline, group, version, resource, ns, query, user);
            return;
        }

        var request = new ApiRequest(verb, group, version, resource, ns, name, sub, query, contentType, body) { User = user };
        var response = await pipeline.HandleAsync(request, ctx.RequestAborted);
        foreach (var warning in warnings.Concat(response.Warnings ?? []))
            ctx.Response.Headers.Append("Warning", $"299 - \"{warning.Replace("\"", "\\\"")}\"");

        var accept = ctx.Request.Headers.Accept.ToString();
        if (response.Code == 200 && verb is "get" or "list" && sub is null or "status" && Tables.Wanted(accept) &&
            ApiResource.Find(group, version, resource) is { } res && JsonNode.Parse(response.Body) is { } parsed && Admission.Str(parsed["kind"]) != "Status")
        {
            var includeObject = !accept.Contains("includeObject=None", StringComparison.Ordinal);
            await WriteJson(ctx, 200, Tables.ToTable(res, parsed, Tables.ApiVersionFor(accept), includeObject));
            return;
        }
        await WriteRaw(ctx, response.Code, response.Body);
    }

    private static void RequireGet(bool isGet)
    {
        if (!isGet) throw ApiException.MethodNotAllowed("the server does not allow this method on the requested resource");
    }

    private static ApiException NotFoundPath() => ApiException.NotFound("the server could not find the requested resource");

    private static JsonObject RootPaths()
    {
        var paths = new JsonArray("/api", "/api/v1", "/apis", "/healthz", "/livez", "/openapi/v2", "/openapi/v3", "/readyz", "/version");
        foreach (var g in ApiResource.Groups.Where(g => g.Length > 0)) { paths.Add($"/apis/{g}"); paths.Add($"/apis/{g}/v1"); }
        paths.Add($"/apis/{MetricsEndpoint.Group}");
        paths.Add($"/apis/{MetricsEndpoint.GroupVersion}");
        return new JsonObject { ["paths"] = paths };
    }

    // ---------------- bodies ----------------

    private static async Task<(string? ContentType, string? Body, List<string> Warnings)> ReadBody(HttpContext ctx, ApiServerSettings settings, string verb)
    {
        var warnings = new List<string>();
        var limit = settings.MaxRequestBodyBytes;
        if (ctx.Request.ContentLength is { } len && len > limit)
            throw TooLarge(limit);
        var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await ctx.Request.Body.ReadAsync(chunk, ctx.RequestAborted)) > 0)
        {
            if (buffer.Length + read > limit) throw TooLarge(limit);
            buffer.Write(chunk, 0, read);
        }
        var contentType = ctx.Request.ContentType;
        if (buffer.Length == 0) return (contentType, null, warnings);
        var mediaType = (contentType ?? "").Split(';')[0].Trim().ToLowerInvariant();
        if (Protobuf.IsProtobuf(contentType))
        {
            if (verb is not ("create" or "update"))
                throw ApiException.UnsupportedMediaType(mediaType);
            var obj = Protobuf.Decode(buffer.ToArray(), warnings);
            return ("application/json", obj.ToJsonString(), warnings);
        }
        var allowed = verb == "patch"
            ? mediaType is "application/merge-patch+json" or "application/json-patch+json" or "application/strategic-merge-patch+json" or "application/apply-patch+yaml" or "application/apply-patch+json"
            : mediaType is "" or "application/json" or "application/yaml" or "application/x-yaml" or "text/yaml" or "*/*";
        if (!allowed) throw ApiException.UnsupportedMediaType(mediaType.Length == 0 ? "no Content-Type" : mediaType);
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        }
        catch (DecoderFallbackException)
        {
            throw ApiException.BadRequest("the request body is not valid UTF-8");
        }
        return (mediaType.Length == 0 ? "application/json" : mediaType, text, warnings);
    }

    private static ApiException TooLarge(long limit) =>
        new(413, "RequestEntityTooLarge", $"the request body is larger than the limit of {limit} bytes (akkakube.apiserver.max-request-body-bytes)");

    // ---------------- responses ----------------

    private static Task WriteJson(HttpContext ctx, int code, JsonNode body, string contentType = "application/json") =>
        WriteRaw(ctx, code, body.ToJsonString(), contentType);

    private static async Task WriteRaw(HttpContext ctx, int code, string body, string contentType = "application/json")
    {
        ctx.Response.StatusCode = code;
        ctx.Response.ContentType = contentType;
        if (code == 429) ctx.Response.Headers.RetryAfter = "5";
        if (HttpMethods.IsHead(ctx.Request.Method)) return;
        await ctx.Response.WriteAsync(body, ctx.RequestAborted);
    }

    // ---------------- watch ----------------

    private static async Task WatchAsync(HttpContext ctx, ApiFrontend frontend, ApiPipeline pipeline, string group, string version, string resource,
        string? ns, Dictionary<string, string> query, UserInfo user)
    {
        var res = ApiResource.Find(group, version, resource);
        var channel = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
        var sink = frontend.System.ActorOf(Props.Create(() => new WatchSinkActor(channel.Writer)));
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
                new ApiRequest("watch", group, version, resource, ns, null, null, query, null, null, sink) { User = user }, ctx.RequestAborted);
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
            await ctx.Response.StartAsync(ctx.RequestAborted);
            await ctx.Response.Body.FlushAsync(ctx.RequestAborted); // clients wait for the headers before they go on
            if (response.Code == 410)
            {
                await WriteEvent(ctx, "ERROR", JsonNode.Parse(response.Body)!);
                return;
            }

            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted);
            cts.CancelAfter(timeout);
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
                switch (message)
                {
                    case StoreProtocol.WatchEvent ev:
                        if (ev.Type == "BOOKMARK" && !bookmarks) continue;
                        var obj = JsonNode.Parse(ev.ObjectJson)!;
                        if (table && ev.Type != "BOOKMARK") obj = Tables.ToTable(res!, WithRv(obj, ev.Revision), tableVersion);
                        await WriteEvent(ctx, ev.Type, obj);
                        ApiServerMetrics.WatchEventSent(group, version, res?.Kind ?? resource);
                        break;
                    case StoreProtocol.WatchEnded ended:
                        if (ended.Code == 410)
                            await WriteEvent(ctx, "ERROR", ApiStatus.Failure(410, "Expired", string.IsNullOrEmpty(ended.Message) ? "too old resource version" : ended.Message));
                        else if (ended.Code >= 400)
                            await WriteEvent(ctx, "ERROR", ApiStatus.Failure(ended.Code, string.IsNullOrEmpty(ended.Reason) ? ApiStatus.ReasonFor(ended.Code) : ended.Reason, ended.Message));
                        return; // the partition ended the watch: close, clients re-list
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

    private static async Task WriteEvent(HttpContext ctx, string type, JsonNode obj)
    {
        var line = new JsonObject { ["type"] = type, ["object"] = obj.DeepClone() }.ToJsonString() + "\n";
        await ctx.Response.WriteAsync(line, ctx.RequestAborted);
        await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
    }
}

/// <summary>Receives a watch's events for the HTTP front and hands them to the response loop.</summary>
internal sealed class WatchSinkActor : ReceiveActor
{
    public WatchSinkActor(ChannelWriter<object> writer)
    {
        Receive<StoreProtocol.WatchEvent>(e => writer.TryWrite(e));
        Receive<StoreProtocol.WatchEnded>(e =>
        {
            writer.TryWrite(e);
            writer.TryComplete();
        });
        // A partition that dies with its node (kill -9) cannot end the watch: death-watch it (the sender of
        // WatchStarted) and close the stream, so the client re-watches from its last resourceVersion.
        Receive<StoreProtocol.WatchStarted>(_ =>
        {
            if (!Sender.IsNobody() && !Sender.Equals(Context.System.DeadLetters)) Context.Watch(Sender);
        });
        Receive<Terminated>(t =>
        {
            writer.TryWrite(new StoreProtocol.WatchEnded("", 0, "", $"store partition {t.ActorRef.Path.Name} terminated"));
            writer.TryComplete();
        });
        ReceiveAny(_ => { });
    }

    protected override void PostStop() { }
}
