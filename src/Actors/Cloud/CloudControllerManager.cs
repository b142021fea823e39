using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Event;
using Akka.Hosting;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Cluster;
using k8s;
using k8s.Models;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Cloud;

/// <summary>
/// cloud-controller-manager: today the service (load-balancer) controller over an <see cref="ICloudProvider"/> —
/// every <c>type: LoadBalancer</c> service gets a balancer and its address in <c>status.loadBalancer.ingress</c>;
/// a service that stops being a LoadBalancer or is deleted frees it. When the cloud has instances, the
/// <see cref="CloudNodeController"/> child initialises Nodes and deletes those whose instance was terminated.
/// </summary>
public sealed class CloudControllerManager : ReceiveActor, IWithTimers
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IKubeApi _api;
    private readonly ICloudProvider _cloud;
    private readonly Dictionary<string, JsonObject> _services = new(StringComparer.Ordinal);
    private readonly HashSet<string> _inFlight = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);
    private bool _synced;

    public ITimerScheduler Timers { get; set; } = null!;

    private readonly CloudSettings _settings;

    public CloudControllerManager(IKubeApi api, ICloudProvider cloud, CloudSettings? settings = null)
    {
        _api = api;
        _cloud = cloud;
        _settings = settings ?? CloudSettings.Default;
        Receive<InformerProtocol.Synced>(synced =>
        {
            _services.Clear();
            foreach (var (key, obj) in synced.Objects) _services[key] = obj;
            if (!_synced) _cloud.LoadBalancers?.Adopt(_services.Values.Select(ToService));
            _synced = true;
            foreach (var key in _services.Keys) Sync(key);
        });
        Receive<InformerProtocol.Added>(e => { _services[e.Key] = e.Object; Sync(e.Key); });
        Receive<InformerProtocol.Updated>(e => { _services[e.Key] = e.New; Sync(e.Key); });
        Receive<InformerProtocol.Deleted>(e =>
        {
            _services.Remove(e.Key);
            if (_cloud.LoadBalancers is { } lbs && IsLoadBalancer(e.LastKnown))
                _ = lbs.EnsureDeletedAsync(ToService(e.LastKnown));
        });
        Receive<Done>(done =>
        {
            _inFlight.Remove(done.Key);
            if (done.Error is not null)
            {
                _log.Info("load balancer of {0}: {1}; retrying", done.Key, done.Error.GetBaseException().Message);
                Timers.StartSingleTimer("retry-" + done.Key, new Retry(done.Key), TimeSpan.FromSeconds(1));
            }
            else if (_dirty.Remove(done.Key)) Sync(done.Key);
        });
        Receive<Retry>(r => Sync(r.Key));
    }

    public static Props Props(IKubeApi api, ICloudProvider cloud, CloudSettings? settings = null) =>
        Akka.Actor.Props.Create(() => new CloudControllerManager(api, cloud, settings));

    private sealed record Done(string Key, Exception? Error);

    private sealed record Retry(string Key);

    protected override void PreStart()
    {
        SharedInformers.Get(Context.System).Subscribe(_api, new InformerOptions(ApiResource.Services), Self);
        if (_cloud.Instances is { } instances) Context.ActorOf(CloudNodeController.Props(_api, instances, _settings), "nodes");
    }

    private static V1Service ToService(JsonObject obj) => KubernetesJson.Deserialize<V1Service>(obj.ToJsonString());

    private static bool IsLoadBalancer(JsonObject obj) => obj["spec"]?["type"]?.GetValue<string>() == "LoadBalancer";

    private void Sync(string key)
    {
        if (!_synced || _cloud.LoadBalancers is not { } lbs || !_services.TryGetValue(key, out var obj)) return;
        if (_inFlight.Contains(key))
        {
            _dirty.Add(key);
            return;
        }
        var svc = ToService(obj);
        var hasIngress = svc.Status?.LoadBalancer?.Ingress is { Count: > 0 };
        if (!IsLoadBalancer(obj) || svc.Metadata.DeletionTimestamp is not null)
        {
            if (!hasIngress) return;
            _inFlight.Add(key);
            ReleaseAsync(_api, lbs, obj, svc).PipeTo(Self, success: () => new Done(key, null), failure: e => new Done(key, e));
            return;
        }
        _inFlight.Add(key);
        EnsureAsync(_api, lbs, obj, svc).PipeTo(Self, success: () => new Done(key, null), failure: e => new Done(key, e));
    }

    private static async Task EnsureAsync(IKubeApi api, ILoadBalancers lbs, JsonObject obj, V1Service svc)
    {
        var status = await lbs.EnsureAsync(svc);
        var wanted = JsonNode.Parse(KubernetesJson.Serialize(status));
        if (JsonNode.DeepEquals(wanted, obj["status"]?["loadBalancer"])) return;
        var next = (JsonObject)obj.DeepClone();
        var st = next["status"] as JsonObject ?? new JsonObject();
        st["loadBalancer"] = wanted;
        next["status"] = st;
        await api.UpdateAsync(ApiResource.Services, svc.Metadata.NamespaceProperty, next, "status");
    }

    private static async Task ReleaseAsync(IKubeApi api, ILoadBalancers lbs, JsonObject obj, V1Service svc)
    {
        await lbs.EnsureDeletedAsync(svc);
        if (svc.Metadata.DeletionTimestamp is not null) return;
        var next = (JsonObject)obj.DeepClone();
        if (next["status"] is JsonObject st) st["loadBalancer"] = new JsonObject();
        await api.UpdateAsync(ApiResource.Services, svc.Metadata.NamespaceProperty, next, "status");
    }
}

/// <summary>Registry key of the cloud-controller-manager singleton.</summary>
public sealed class CloudControllerManagerKey;

public static class CloudControllerManagerHostingExtensions
{
    /// <summary>The cloud-controller-manager as a cluster singleton on control-plane nodes, with the provider from <c>akkakube.cloud</c>.</summary>
    public static AkkaConfigurationBuilder AddCloudControllerManager(this AkkaConfigurationBuilder builder, NodeOptions node,
        Func<ActorSystem, IActorRegistry, IKubeApi>? api = null)
    {
        return builder.WithControlPlaneSingleton<CloudControllerManagerKey>(node, AkkaKubeNames.Actors.CloudControllerManager,
            (system, registry, resolver) =>
            {
                var settings = CloudSettings.Create(system.Settings.Config);
                return CloudControllerManager.Props(
                    Security.ComponentIdentities.AsControlPlane(api?.Invoke(system, registry) ?? AkkaKube.Actors.ApiServer.KubeApi.Get(system).Api, Security.ComponentIdentities.CloudControllerManager),
                    new LocalCloudProvider(settings, node.DataDirectory, node.Region), settings);
            },
            SingletonProxy.None);
    }
}
