using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Controllers.History;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Controllers.DaemonSet;

/// <summary>
/// Runs DaemonSets: <see cref="DaemonSetLogic"/> decides from the caches (nodes, the set's pods and revisions),
/// <see cref="SetControllerBase"/> executes the steps under expectations: pods are created for the scheduler to place
/// (pinned by node affinity on metadata.name), deleted, and the revisions and status kept.
/// </summary>
public sealed class DaemonSetController(IKubeApi api, ControllerSettings settings, Func<DateTime>? now)
    : SetControllerBase(api, settings, now, DaemonSetLogic.Kind)
{
    public static Props Props(IKubeApi api, ControllerSettings settings, Func<DateTime>? now = null) =>
        Akka.Actor.Props.Create(() => new DaemonSetController(api, settings, now));

    protected override string Name => ControllerNames.DaemonSet;
    protected override string Component => "daemonset-controller";
    protected override ApiResource Owners => ApiResource.DaemonSets;
    protected override IEnumerable<ApiResource> Watched =>
        [ApiResource.DaemonSets, ApiResource.Nodes, ApiResource.Pods, ApiResource.ControllerRevisions];

    protected override string CreatedMessage(JsonObject set, string pod) => $"Created pod: {pod}";
    protected override string DeletedMessage(JsonObject set, string pod) => $"Deleted pod: {pod}";

    /// <summary>What decides a node's fit: labels, taints, unschedulable (heartbeats and status changes do not matter).</summary>
    private static bool FitInputsChanged(JsonObject old, JsonObject obj) =>
        !JsonNode.DeepEquals(Meta(old)["labels"], Meta(obj)["labels"])
        || !JsonNode.DeepEquals(old["spec"]?["taints"], obj["spec"]?["taints"])
        || !JsonNode.DeepEquals(old["spec"]?["unschedulable"], obj["spec"]?["unschedulable"]);

    protected override void OnSynced(ApiResource resource, bool first)
    {
        base.OnSynced(resource, first);
        if (resource == ApiResource.Nodes) EnqueueAll();
    }

    protected override void OnAdded(ApiResource resource, string key, JsonObject obj)
    {
        if (resource == ApiResource.Nodes) EnqueueAll();
        else base.OnAdded(resource, key, obj);
    }

    protected override void OnUpdated(ApiResource resource, string key, JsonObject old, JsonObject obj)
    {
        if (resource != ApiResource.Nodes) base.OnUpdated(resource, key, old, obj);
        else if (FitInputsChanged(old, obj)) EnqueueAll();
    }

    protected override void OnDeleted(ApiResource resource, string key, JsonObject lastKnown)
    {
        if (resource == ApiResource.Nodes) EnqueueAll();
        else base.OnDeleted(resource, key, lastKnown);
    }

    protected override ReconcileAction? Plan(string key)
    {
        if (!CacheOf(ApiResource.DaemonSets).TryGetValue(key, out var ds)) return null;
        if (!Trusted(key)) return null;
        var plan = DaemonSetLogic.Plan(ds, CacheOf(ApiResource.Nodes).Values.ToList(), OwnedBy(ApiResource.Pods, ds), OwnedBy(ApiResource.ControllerRevisions, ds), Now());
        return Execute(key, ds, plan);
    }
}
