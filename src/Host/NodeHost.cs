using Akka.Hosting;
using AkkaKube.Actors.Cluster;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AkkaKube.Host;

/// <summary>
/// Composes one node process: Generic Host + Akka.Hosting (+ Kestrel on control-plane nodes for the apiserver).
/// Each component contributes one Akka.Hosting extension method; this class only composes them.
/// </summary>
public static class NodeHost
{
    public static string HoconDirectory => Path.Combine(AppContext.BaseDirectory, "hocon");

    public static IHost Build(NodeOptions node, string[]? args = null)
    {
        var config = NodeConfig.Build(node, HoconDirectory);

        // Every node is a web application: the metrics and health port everywhere, the apiserver on control-plane nodes.
        var builder = WebApplication.CreateSlimBuilder(args ?? []);
        ConfigureServices(builder.Services, builder.Logging, node, config);
        NodeComposition.ConfigureWeb(builder, node, config);
        var app = builder.Build();
        NodeComposition.MapWeb(app, node);
        return app;
    }

    private static void ConfigureServices(IServiceCollection services, ILoggingBuilder logging, NodeOptions node, Akka.Configuration.Config config)
    {
        logging.ClearProviders();
        logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        });
        // `akka.loglevel = DEBUG` in a node's HOCON (e.g. with akka.cluster.sharding.verbose-debug-logging, to follow a
        // hand-over step by step: docs/failover.md) reaches the log only if both filters let it through.
        var debug = string.Equals(config.GetString("akka.loglevel", "INFO"), "DEBUG", StringComparison.OrdinalIgnoreCase);
        logging.SetMinimumLevel(debug ? LogLevel.Debug : LogLevel.Information);
        logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);
        logging.AddFilter("LinqToDB", LogLevel.Warning);

        services.AddSingleton(node);
        services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(15));
        services.AddAkka(Actors.AkkaKubeNames.SystemName, (builder, sp) =>
        {
            builder.AddHocon(config, HoconAddMode.Prepend);
            builder.ConfigureLoggers(l =>
            {
                l.LogLevel = debug ? Akka.Event.LogLevel.DebugLevel : Akka.Event.LogLevel.InfoLevel;
                l.ClearLoggers();
                l.AddLoggerFactory();
            });
            NodeComposition.ConfigureAkka(builder, node, sp);
        });
    }
}
