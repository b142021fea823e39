using System.Net;
using Akka.Actor;
using Akka.Hosting;
using AkkaKube.Actors.ApiServer;
using AkkaKube.Actors.Cluster;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AkkaKube.Actors.Observability;

/// <summary>
/// Every node's metrics and health port (--metrics-port on --node-ip): GET /metrics (Prometheus text), /livez,
/// /readyz, /healthz. On control-plane nodes the apiserver port answers the health paths too and its requests are
/// measured (apiserver_request_total, …); /metrics is only on the metrics port.
/// </summary>
public static class ObservabilityHosting
{
    public const string ListenerActor = "metrics-listener";

    public static AkkaConfigurationBuilder AddObservability(this AkkaConfigurationBuilder builder, NodeOptions node)
    {
        var config = builder.Configuration.HasValue ? builder.Configuration.Value : Akka.Configuration.Config.Empty;
        var timeout = config.GetTimeSpan("akkakube.observability.health-check-timeout", TimeSpan.FromSeconds(3));
        builder.AddNodeHealthChecks(node, timeout);
        return builder.WithActors((system, _) =>
        {
            system.ActorOf(Props.Create(() => new AkkaMetrics.Listener()), ListenerActor);
            AkkaMetrics.Collect(system);
            MailboxMetrics.Collect(system);
        });
    }

    public static void ConfigureObservabilityWeb(this WebApplicationBuilder builder, NodeOptions node)
    {
        NodeMetrics.Configure();
        builder.Services.AddHealthChecks();
        builder.Services.AddSingleton<HealthEndpoints>();
        builder.WebHost.ConfigureKestrel(o =>
        {
            o.AddServerHeader = false;
            o.Listen(node.NodeIp, node.MetricsPort);
        });
    }

    public static void UseObservability(this WebApplication app, NodeOptions node)
    {
        var health = app.Services.GetRequiredService<HealthEndpoints>();
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("AkkaKube.Observability");
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            var metrics = addresses.FirstOrDefault(a => !node.ControlPlane || !a.EndsWith($":{node.ApiPort}", StringComparison.Ordinal)) ?? $"http://{node.NodeIp}:{node.MetricsPort}";
            log.LogInformation("metrics and health on {Address} (/metrics, /livez, /readyz, /healthz)", metrics);
        });
        app.Use(async (ctx, next) =>
        {
            var apiPort = IsApiConnection(ctx, node);
            if (HealthEndpoints.IsHealthPath(ctx.Request.Path, out var endpoint, out var single))
            {
                // On the API port the health paths are anonymous but still authenticated: a bad credential is a 401, as in Kubernetes.
                if (apiPort && ctx.RequestServices.GetService<Security.ApiServerSecurity>() is { } security &&
                    security.Authenticator.Authenticate(ctx.Request.Path.Value ?? "/", ctx.Connection.ClientCertificate, ctx.Request.Headers.Authorization.ToString()) is null)
                {
                    ctx.Response.StatusCode = 401;
                    ctx.Response.ContentType = "application/json";
                    await ctx.Response.WriteAsync(Machinery.ApiStatus.Failure(401, "Unauthorized", "Unauthorized").ToJsonString(), ctx.RequestAborted);
                    return;
                }
                if (apiPort) await ApiServerMetrics.MeasureAsync(ctx, () => health.ServeAsync(ctx, endpoint, single));
                else await health.ServeAsync(ctx, endpoint, single);
                return;
            }
            if (apiPort)
            {
                await ApiServerMetrics.MeasureAsync(ctx, () => next(ctx));
                return;
            }
            if (ctx.Request.Path == "/metrics" && ctx.Request.Method is "GET" or "HEAD")
            {
                ctx.Response.StatusCode = 200;
                ctx.Response.ContentType = NodeMetrics.ContentType;
                await NodeMetrics.WriteAsync(ctx.Response.Body, ctx.RequestAborted);
                return;
            }
            ctx.Response.StatusCode = 404;
            ctx.Response.ContentType = "text/plain; charset=utf-8";
            await ctx.Response.WriteAsync("404 page not found: this is the node's metrics and health port (/metrics, /livez, /readyz, /healthz)\n", ctx.RequestAborted);
        });
    }

    private static bool IsApiConnection(HttpContext ctx, NodeOptions node) =>
        node.ControlPlane && ctx.Connection.LocalPort == node.ApiPort &&
        (node.ApiAddress.Equals(IPAddress.Any) || node.ApiAddress.Equals(ctx.Connection.LocalIpAddress) ||
         ctx.Connection.LocalIpAddress is { IsIPv4MappedToIPv6: true } mapped && node.ApiAddress.Equals(mapped.MapToIPv4()));
}
