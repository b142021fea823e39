using AkkaKube.Actors.ApiServer.Admission;
using AkkaKube.Actors.Security.Node;
using Akka.Hosting;
using AkkaKube.Actors.ApiServer;
using AkkaKube.Actors.Kubelet;
using AkkaKube.Actors.Cloud;
using AkkaKube.Actors.Proxy;
using AkkaKube.Actors.Netpol;
using AkkaKube.Actors.Dns;
using AkkaKube.Actors.PodNetwork;
using AkkaKube.Actors.Services;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Security;
using AkkaKube.Actors.Cmd;
using AkkaKube.Actors.Cmd.Palettes;
using AkkaKube.Actors.Chaos;
using AkkaKube.Actors.Controllers;
using AkkaKube.Actors.Scheduler;
using AkkaKube.Actors.Store;
using AkkaKube.Actors.Observability;
using AkkaKube.Actors.Security.Rbac;
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
        builder.AddRemotingTls(node);
        builder.AddNodeInfo(node);
        builder.AddObservability(node);
        builder.AddRefusedMemberDowning(node);
        builder.AddCmdHost(node);
        builder.AddNodeInspector(node);
        builder.AddStore(node);
        builder.AddApiServer(node);
        builder.AddRbacAuthorizer(node);
        builder.AddNamespaceLister(node);
        builder.AddNodeAuthorizer(node);
        builder.AddServiceAllocator(node);
        builder.AddKubernetesService(node);
        builder.AddCloudControllerManager(node);
        builder.AddProxy(node);
        builder.AddNetworkPolicy(node);
        builder.AddDns(node);
        builder.AddPodRoutes(node);
        builder.AddScheduler(node);
        builder.AddControllerManager(node);
        builder.AddChaosPalette();
        builder.AddKubePalette();
        // components: add one line each
        builder.AddKubelet(node);
    }

    public static void ConfigureWeb(WebApplicationBuilder builder, NodeOptions node, Akka.Configuration.Config config)
    {
        builder.ConfigureObservabilityWeb(node);
        builder.ConfigureApiServerWeb(node, config);
    }

    public static void MapWeb(WebApplication app, NodeOptions node)
    {
        app.UseObservability(node);
        app.MapApiServer(node);
    }
}
