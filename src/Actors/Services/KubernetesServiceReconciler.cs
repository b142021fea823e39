using System.Globalization;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Event;
using Akka.Hosting;
using AkkaKube.Actors.ApiServer;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Services;

/// <summary>
/// The apiserver's "master endpoints" reconciler (Kubernetes' lease endpoint reconciler), one per
/// control-plane node: every <see cref="Interval"/> it renews a Lease <c>kube-system/apiserver-&lt;node&gt;</c>
/// carrying this node's API address, makes sure the <c>default/kubernetes</c> service exists
/// (127.128.0.1:443), and rewrites its Endpoints and EndpointSlice to the API addresses whose leases are
/// live — so a dead control-plane node drops out within <see cref="LeaseDuration"/>.
/// </summary>
public sealed class KubernetesServiceReconciler : ReceiveActor, IWithTimers
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(30);
    public const string EndpointAnnotation = "akkakube.io/api-endpoint";
    public const string ApiServerLabel = "akkakube.io/apiserver-endpoint";
    public const string ManagedBy = "apiserver.akkakube.io"; // a label value: no slash

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IKubeApi _api;
    private readonly NodeOptions _node;
    private readonly ServiceNetworkSettings _settings;
    private bool _running;

    public ITimerScheduler Timers { get; set; } = null!;

    public KubernetesServiceReconciler(IKubeApi api, NodeOptions node, ServiceNetworkSettings settings)
    {
        _api = api;
        _node = node;
        _settings = settings;
        Receive<Tick>(_ =>
        {
            if (_running) return;
            _running = true;
            ReconcileAsync().PipeTo(Self, success: () => Done.Ok, failure: e => new Done(e));
        });
        Receive<Done>(d =>
        {
            _running = false;
            if (d.Error is not null) _log.Info("kubernetes service endpoints not reconciled yet: {0}", d.Error.GetBaseException().Message);
        });
    }

    public static Props Props(IKubeApi api, NodeOptions node, ServiceNetworkSettings settings) =>
        Akka.Actor.Props.Create(() => new KubernetesServiceReconciler(api, node, settings));

    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }

    private sealed record Done(Exception? Error)
    {
        public static readonly Done Ok = new((Exception?)null);
    }

    protected override void PreStart()
    {
        Timers.StartPeriodicTimer("tick", Tick.Instance, TimeSpan.FromSeconds(1), Interval);
    }

    private static JsonObject J(string json) => JsonNode.Parse(json)!.AsObject();

    private async Task ReconcileAsync()
    {
        var now = DateTime.UtcNow;
        var leaseName = $"apiserver-{_node.NodeName}";
        var endpoint = $"{_node.ApiAddress}:{_node.ApiPort}";
        var renew = now.ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ", CultureInfo.InvariantCulture);
        var lease = J($$$"""
            {"apiVersion":"coordination.k8s.io/v1","kind":"Lease",
             "metadata":{"name":"{{{leaseName}}}","namespace":"kube-system","labels":{"{{{ApiServerLabel}}}":"true"},
                         "annotations":{"{{{EndpointAnnotation}}}":"{{{endpoint}}}"}},
             "spec":{"holderIdentity":"{{{_node.NodeName}}}","leaseDurationSeconds":{{{(int)LeaseDuration.TotalSeconds}}},"renewTime":"{{{renew}}}"}}
            """);
        try
        {
            var current = await _api.GetAsync(ApiResource.Leases, "kube-system", leaseName);
            lease["metadata"]!["resourceVersion"] = current["metadata"]?["resourceVersion"]?.DeepClone();
            await _api.UpdateAsync(ApiResource.Leases, "kube-system", lease);
        }
        catch (KubeApiException e) when (e.IsNotFound)
        {
            await _api.CreateAsync(ApiResource.Leases, "kube-system", lease);
        }

        var leases = await _api.ListAsync(ApiResource.Leases, "kube-system", new ListOptions($"{ApiServerLabel}=true"));
        var live = new SortedSet<(string Ip, int Port)>();
        foreach (var l in leases.Items)
        {
            var text = l["metadata"]?["annotations"]?[EndpointAnnotation]?.GetValue<string>();
            var renewed = l["spec"]?["renewTime"]?.GetValue<string>();
            var seconds = l["spec"]?["leaseDurationSeconds"]?.GetValue<int>() ?? (int)LeaseDuration.TotalSeconds;
            if (text is null || renewed is null || !DateTime.TryParse(renewed, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var at)) continue;
            if (at + TimeSpan.FromSeconds(seconds) < now) continue;
            var colon = text.LastIndexOf(':');
            if (colon > 0 && int.TryParse(text[(colon + 1)..], out var port)) live.Add((text[..colon], port));
        }

        var ip = _settings.KubernetesServiceIp.ToString();
        try
        {
            await _api.GetAsync(ApiResource.Services, ServiceNetworkSettings.KubernetesServiceNamespace, ServiceNetworkSettings.KubernetesServiceName);
        }
        catch (KubeApiException e) when (e.IsNotFound)
        {
            try
            {
                await _api.CreateAsync(ApiResource.Services, ServiceNetworkSettings.KubernetesServiceNamespace, J($$$"""
                    {"apiVersion":"v1","kind":"Service","metadata":{"name":"kubernetes","labels":{"component":"apiserver","provider":"kubernetes"}},
                     "spec":{"clusterIP":"{{{ip}}}","ports":[{"name":"https","port":443,"protocol":"TCP","targetPort":{{{_node.ApiPort}}}}]}}
                    """));
            }
            catch (KubeApiException conflict) when (conflict.IsAlreadyExists) { }
        }

        await WriteEndpoints(live);
        await WriteSlice(live);
    }

    private async Task WriteEndpoints(SortedSet<(string Ip, int Port)> live)
    {
        var subsets = new JsonArray();
        foreach (var group in live.GroupBy(e => e.Port))
            subsets.Add(new JsonObject
            {
                ["addresses"] = new JsonArray(group.Select(e => (JsonNode)new JsonObject { ["ip"] = e.Ip }).ToArray()),
                ["ports"] = new JsonArray(new JsonObject { ["name"] = "https", ["port"] = group.Key, ["protocol"] = "TCP" }),
            });
        var desired = J("""{"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"kubernetes","labels":{"endpointslice.kubernetes.io/skip-mirror":"true"}}}""");
        desired["subsets"] = subsets;
        await Put(ApiResource.Endpoints, desired, current => JsonNode.DeepEquals(current["subsets"] ?? new JsonArray(), subsets));
    }

    private async Task WriteSlice(SortedSet<(string Ip, int Port)> live)
    {
        // one port per slice: all apiservers normally share a port; the first live one's port is published
        var port = live.Count > 0 ? live.Min.Port : _node.ApiPort;
        var endpoints = new JsonArray(live.Where(e => e.Port == port).Select(e => (JsonNode)new JsonObject
        {
            ["addresses"] = new JsonArray(e.Ip),
            ["conditions"] = new JsonObject { ["ready"] = true, ["serving"] = true, ["terminating"] = false },
        }).ToArray());
        var desired = J($$$"""
            {"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","addressType":"IPv4",
             "metadata":{"name":"kubernetes","labels":{"kubernetes.io/service-name":"kubernetes","endpointslice.kubernetes.io/managed-by":"{{{ManagedBy}}}"}},
             "ports":[{"name":"https","port":{{{port}}},"protocol":"TCP"}]}
            """);
        desired["endpoints"] = endpoints;
        await Put(ApiResource.EndpointSlices, desired, current =>
            JsonNode.DeepEquals(current["endpoints"] ?? new JsonArray(), endpoints) && JsonNode.DeepEquals(current["ports"], desired["ports"]));
    }

    private Task Put(ApiResource resource, JsonObject desired, Func<JsonObject, bool> same) =>
        ApiObjects.PutAsync(_api, resource, ServiceNetworkSettings.KubernetesServiceNamespace, "kubernetes", desired, same);
}

public static class KubernetesServiceHostingExtensions
{
    /// <summary>On control-plane nodes: keeps <c>default/kubernetes</c> (127.128.0.1:443) pointing at the live apiservers.</summary>
    public static AkkaConfigurationBuilder AddKubernetesService(this AkkaConfigurationBuilder builder, NodeOptions node)
    {
        if (!node.ControlPlane) return builder;
        return builder.WithActors((system, _) =>
            system.ActorOf(KubernetesServiceReconciler.Props(KubeApi.Get(system).Api, node, ServiceNetworkSettings.Create(system.Settings.Config)),
                "kubernetes-service"));
    }
}
