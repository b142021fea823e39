using Akka.Actor;
using Akka.Hosting;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Security.Node;

/// <summary>
/// Feeds this control-plane node's <see cref="NodeGraph"/> from the shared pod and PersistentVolumeClaim informers
/// (Kubernetes' graph_populator): every event updates the pod's or claim's edges in place.
/// </summary>
public sealed class NodeGraphCache : ReceiveActor
{
    private readonly IKubeApi _api;

    public NodeGraphCache(IKubeApi api, NodeGraph graph)
    {
        _api = api;
        Receive<InformerProtocol.Synced>(s =>
        {
            if (s.Resource == ApiResource.Pods) graph.ResetPods(s.Objects.Values);
            else graph.ResetClaims(s.Objects.Values);
        });
        Receive<InformerProtocol.Added>(a => Set(graph, a.Resource, a.Object));
        Receive<InformerProtocol.Updated>(u => Set(graph, u.Resource, u.New));
        Receive<InformerProtocol.Deleted>(d =>
        {
            if (d.Resource == ApiResource.Pods) graph.RemovePod(d.LastKnown);
            else graph.RemoveClaim(d.LastKnown);
        });
    }

    private static void Set(NodeGraph graph, ApiResource resource, System.Text.Json.Nodes.JsonObject obj)
    {
        if (resource == ApiResource.Pods) graph.SetPod(obj);
        else graph.SetClaim(obj);
    }

    protected override void PreStart()
    {
        SharedInformers.Get(Context.System).Subscribe(_api, new InformerOptions(ApiResource.Pods), Self);
        SharedInformers.Get(Context.System).Subscribe(_api, new InformerOptions(ApiResource.PersistentVolumeClaims), Self);
    }

    public static Props Props(IKubeApi api, NodeGraph graph) => Akka.Actor.Props.Create(() => new NodeGraphCache(api, graph));
}

public static class NodeGraphHostingExtensions
{
    /// <summary>The Node authorizer's graph on control-plane nodes (after AddApiServer: it reads through the in-cluster API).</summary>
    public static AkkaConfigurationBuilder AddNodeAuthorizer(this AkkaConfigurationBuilder builder, NodeOptions node) =>
        builder.WithActors((system, registry) =>
        {
            if (!node.ControlPlane) return;
            registry.Register<NodeGraphCache>(system.ActorOf(NodeGraphCache.Props(ApiServer.KubeApi.Get(system).Api, NodeGraph.Get(system)), AkkaKubeNames.Actors.NodeGraph));
        });
}
