using Akka.Hosting;
using AkkaKube.Actors.Kubelet;
using AkkaKube.Actors.Cluster;
using Microsoft.AspNetCore.Builder;

namespace AkkaKube.Host;

/// <summary>
/// The one place where components are wired into a node. Each line is one component's
/// Akka.Hosting extension method; the component decides from <see cref="NodeOptions"/> whether it runs here.
/// </summary>
internal static class NodeComposition
{
    public static void ConfigureAkka(AkkaConfigurationBuilder builder, NodeOptions node, IServiceProvider services)
    {
        builder.AddNodeInfo(node);
        // components: add one line each
        builder.AddKubelet(node);
    }

    public static void ConfigureWeb(WebApplicationBuilder builder, NodeOptions node)
    {
        // apiserver: Kestrel set-up
    }

    public static void MapWeb(WebApplication app, NodeOptions node)
    {
        // apiserver: routes
    }
}
