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
using AkkaKube.Actors.Machinery;
using static AkkaKube.Actors.Machinery.ApiServerProtocol;

namespace AkkaKube.Actors.ApiServer;

/// <summary>Gives the HTTP front its pipeline once the store region is registered.</summary>
public sealed class ApiFrontend(ActorSystem system, ActorRegistry registry, ILogger<ApiFrontend> log)
{
    private ApiPipeline? _pipeline;

    public ActorSystem System => system;
    public ILogger Log => log;
    public ApiServerSettings Settings { get; } = ApiServerSettings.Create(system.Settings.Config);
    public Registry.ApiRegistry Registry { get; } = AkkaKube.Actors.ApiServer.Registry.ApiRegistryExtension.Get(system).Registry;
    public Security.Rbac.RbacAuthorizer Authorizer { get; } = Security.Rbac.RbacAuthorizer.Get(system);
    public ServiceAccountTokens Tokens { get; } = ServiceAccountTokens.Get(system);

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
        _pipeline = new ApiPipeline(store, Settings, Registry, new Eviction.PodDisruptionBudgetPolicy(store, Settings.StoreTimeout), onUnexpected: e => log.LogError(e, "unexpected error in the apiserver pipeline"),
            serviceAllocator: () => registry.TryGet<Services.ServiceAllocator>(out var allocator) ? allocator : null, authorizer: Security.Rbac.RbacAuthorizer.Get(system), tokens: Tokens)
            {
                Namespaces = Admission.NamespaceLister.Get(system),
            };
        return _pipeline;
    }
}

/// <summary>
/// The apiserver's HTTP front on Kestrel: listening socket with SO_REUSEPORT (several local
/// control-plane processes share one address), TLS and authentication (this file); routing and
/// request info (Http/Routing.cs), non-resource endpoints and discovery (Http/NonResource.cs), bodies
/// and content negotiation (Http/Content.cs) and watch streams (Http/WatchStream.cs) are the other parts.
/// Resource requests become <see cref="ApiRequest"/>s for the shared <see cref="ApiPipeline"/>.
/// </summary>
public static partial class ApiHttpFront
{
    /// <summary>Response header naming the node whose apiserver served the request.</summary>
    public const string ServedByHeader = "X-AkkaKube-Apiserver";

    public static void ConfigureApiServerWeb(this WebApplicationBuilder builder, NodeOptions node, Akka.Configuration.Config config)
    {
        if (!node.ControlPlane) return;
        builder.Services.AddSingleton<ApiFrontend>();
        var security = ApiServerSecurity.Create(node, config);
        builder.Services.AddSingleton(security);
        builder.Services.AddSingleton(sp => new Audit.AuditLog(
            new Audit.AuditSettings(node.AuditPolicyFile, node.AuditLogPath, node.AuditLogMaxSize, node.AuditLogMaxBackup),
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("AkkaKube.ApiServer.Audit")));
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
        var audit = app.Services.GetRequiredService<Audit.AuditLog>();
        if (audit.Enabled) log.LogInformation("audit log on: policy {Policy}, events to {Path}", node.AuditPolicyFile, node.AuditLogPath);
        var serverAddress = $"{node.ApiAddress}:{node.ApiPort}";
        OpenApi.OpenApiService.Warm(frontend.Registry);
        // Which control-plane process answered (they share one address): for diagnosing a multi-apiserver cluster.
        app.Use((ctx, next) =>
        {
            ctx.Response.Headers[ServedByHeader] = node.NodeName;
            return next(ctx);
        });
        app.UseWebSockets(); // pods/exec (ctx.WebSockets); keep-alive pings are the client's (kubectl pings every 5 s)
        app.Run(ctx => audit.Enabled ? AuditedAsync(ctx, frontend, authenticator, serverAddress, audit) : HandleAsync(ctx, frontend, authenticator, serverAddress));
    }

    /// <summary>A request under the audit log: its event is queued once it is answered (or failed), whatever happened.</summary>
    private static async Task AuditedAsync(HttpContext ctx, ApiFrontend frontend, ApiAuthenticator authenticator, string serverAddress, Audit.AuditLog audit)
    {
        var context = Audit.AuditContext.Begin(ctx);
        try
        {
            await HandleAsync(ctx, frontend, authenticator, serverAddress);
        }
        finally
        {
            audit.Complete(ctx, context);
        }
    }

    private static async Task HandleAsync(HttpContext ctx, ApiFrontend frontend, ApiAuthenticator authenticator, string serverAddress)
    {
        try
        {
            if (Ui.UiEndpoint.Handles(ctx.Request.Path))
            {
                await Ui.UiEndpoint.ServeAsync(ctx, frontend.System, authenticator); // the web view (Ui/UiEndpoint.cs)
                return;
            }
            var authorization = ctx.Request.Headers.Authorization.ToString();
            var user = authenticator.Authenticate(ctx.Request.Path.Value ?? "/", ctx.Connection.ClientCertificate, authorization)
                       ?? await AuthenticateServiceAccountAsync(frontend, authorization, ctx.RequestAborted);
            if (user is null)
            {
                await WriteJson(ctx, 401, ApiStatus.Failure(401, "Unauthorized", "Unauthorized"));
                return;
            }
            var audit = Audit.AuditContext.Of(ctx);
            if (audit is not null) audit.User = user;
            var caller = user;
            user = await ImpersonateAsync(ctx, frontend, user);
            if (audit is not null && !ReferenceEquals(user, caller)) audit.ImpersonatedUser = user;
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
}
