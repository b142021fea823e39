using System.Globalization;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Event;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.Services;

namespace AkkaKube.Actors.Dns;

/// <summary>
/// The cluster's DNS add-on objects, kept by every control-plane node every <see cref="Interval"/> (idempotent, as the
/// kubernetes-service reconciler): the <c>kube-system/kube-dns</c> Service (ClusterIP = the service CIDR's 10th
/// address, ports 53 dns/UDP and dns-tcp/TCP, label k8s-app=kube-dns, no selector) and its EndpointSlice
/// <c>kube-dns-nodes</c>: the DNS server of every Ready node that announces one (Node annotation
/// <see cref="EndpointAnnotation"/>, written by its kubelet). A dead node turns NotReady and drops out at once (a Node
/// informer triggers a pass when a node's DNS endpoint or readiness changes).
/// </summary>
public sealed class KubeDnsServiceReconciler : ReceiveActor, IWithTimers
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);
    public const string Namespace = "kube-system";
    public const string ServiceName = "kube-dns";
    public const string SliceName = "kube-dns-nodes";
    public const string ManagedBy = "dns.akkakube.io"; // a label value: no slash
    /// <summary>Node annotation "ip:port": this node serves cluster DNS there (UDP and TCP).</summary>
    public const string EndpointAnnotation = "akkakube.io/dns-endpoint";

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IKubeApi _api;
    private readonly ServiceNetworkSettings _network;
    private bool _running, _again;

    public ITimerScheduler Timers { get; set; } = null!;

    public KubeDnsServiceReconciler(IKubeApi api, ServiceNetworkSettings network)
    {
        _api = api;
        _network = network;
        Receive<Tick>(_ =>
        {
            if (_running)
            {
                _again = true;
                return;
            }
            _running = true;
            ReconcileAsync().PipeTo(Self, success: () => new Done(null), failure: e => new Done(e));
        });
        Receive<Done>(d =>
        {
            _running = false;
            if (d.Error is not null) _log.Info("kube-dns service not reconciled yet: {0}", d.Error.GetBaseException().Message);
            if (_again)
            {
                _again = false;
                Self.Tell(Tick.Instance);
            }
        });
        // A node that turns NotReady (or stops announcing DNS) leaves the slice now, not at the next periodic pass:
        // clients of the kube-dns Service stop being sent to a dead node's server as soon as the node lifecycle says so.
        Receive<InformerProtocol.Added>(_ => Self.Tell(Tick.Instance));
        Receive<InformerProtocol.Deleted>(_ => Self.Tell(Tick.Instance));
        Receive<InformerProtocol.Updated>(u =>
        {
            if (!DesiredEndpoints([u.Old]).SequenceEqual(DesiredEndpoints([u.New]))) Self.Tell(Tick.Instance);
        });
        Receive<InformerProtocol.Synced>(_ => { });
    }

    public static Props Props(IKubeApi api, ServiceNetworkSettings network) =>
        Akka.Actor.Props.Create(() => new KubeDnsServiceReconciler(api, network));

    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }

    private sealed record Done(Exception? Error);

    protected override void PreStart()
    {
        Timers.StartPeriodicTimer("tick", Tick.Instance, TimeSpan.FromSeconds(1), Interval);
        SharedInformers.Get(Context.System).Subscribe(_api, new InformerOptions(ApiResource.Nodes), Self);
    }

    /// <summary>The conventional cluster DNS address: the 10th of the service CIDR (10.96.0.10 in kubeadm; 127.128.0.10 here).</summary>
    public static string ClusterIp(ServiceNetworkSettings network) => ServiceIpMath.ToAddress(network.FirstIp + 9).ToString();

    private async Task ReconcileAsync()
    {
        var nodes = await _api.ListAsync(ApiResource.Nodes, null);
        var endpoints = DesiredEndpoints(nodes.Items);
        var port = endpoints.Count > 0 ? endpoints.GroupBy(e => e.Port).OrderByDescending(g => g.Count()).First().Key : DnsSettings.Default.Port;
        await EnsureService(port);
        var slice = DesiredSlice(endpoints, port);
        await ApiObjects.PutAsync(_api, ApiResource.EndpointSlices, Namespace, SliceName, slice, current =>
            JsonNode.DeepEquals(current["endpoints"] ?? new JsonArray(), slice["endpoints"]) && JsonNode.DeepEquals(current["ports"], slice["ports"]));
    }

    private async Task EnsureService(int targetPort)
    {
        try
        {
            await _api.GetAsync(ApiResource.Services, Namespace, ServiceName);
            return;
        }
        catch (KubeApiException e) when (e.IsNotFound) { }
        var service = DesiredService(ClusterIp(_network), targetPort);
        try
        {
            await _api.CreateAsync(ApiResource.Services, Namespace, service);
        }
        catch (KubeApiException e) when (e.IsAlreadyExists) { }
        catch (KubeApiException e) when (e.Code == 422)
        {
            // The conventional address is taken by a user's Service: take any (kubeadm would fail; a cluster should not).
            _log.Warning("kube-dns: {0} is not available ({1}); allocating another ClusterIP", ClusterIp(_network), e.Message);
            service["spec"]!.AsObject().Remove("clusterIP");
            await _api.CreateAsync(ApiResource.Services, Namespace, service);
        }
    }

    public static JsonObject DesiredService(string clusterIp, int targetPort) => JsonNode.Parse($$$"""
        {"apiVersion":"v1","kind":"Service",
         "metadata":{"name":"{{{ServiceName}}}","namespace":"{{{Namespace}}}",
                     "labels":{"k8s-app":"kube-dns","kubernetes.io/cluster-service":"true","kubernetes.io/name":"AkkaKube-DNS"}},
         "spec":{"clusterIP":"{{{clusterIp}}}",
                 "ports":[{"name":"dns","port":53,"protocol":"UDP","targetPort":{{{targetPort}}}},
                          {"name":"dns-tcp","port":53,"protocol":"TCP","targetPort":{{{targetPort}}}}]}}
        """)!.AsObject();

    /// <summary>The DNS servers of Ready nodes that announce one, ordered by node name.</summary>
    public static IReadOnlyList<(string Node, string Ip, int Port)> DesiredEndpoints(IEnumerable<JsonObject> nodes)
    {
        var list = new List<(string, string, int)>();
        foreach (var node in nodes)
        {
            var name = node["metadata"]?["name"]?.GetValue<string>();
            var text = node["metadata"]?["annotations"]?[EndpointAnnotation]?.GetValue<string>();
            if (name is null || text is null || !System.Net.IPEndPoint.TryParse(text, out var ep) || ep.Port == 0) continue;
            var ready = (node["status"]?["conditions"] as JsonArray ?? []).Any(c =>
                c?["type"]?.GetValue<string>() == "Ready" && c["status"]?.GetValue<string>() == "True");
            if (ready) list.Add((name, ep.Address.ToString(), ep.Port));
        }
        return list.OrderBy(e => e.Item1, StringComparer.Ordinal).ToList();
    }

    public static JsonObject DesiredSlice(IReadOnlyList<(string Node, string Ip, int Port)> endpoints, int port)
    {
        var slice = JsonNode.Parse($$$"""
            {"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","addressType":"IPv4",
             "metadata":{"name":"{{{SliceName}}}","namespace":"{{{Namespace}}}",
                         "labels":{"kubernetes.io/service-name":"{{{ServiceName}}}","endpointslice.kubernetes.io/managed-by":"{{{ManagedBy}}}"}},
             "ports":[{"name":"dns","port":{{{port}}},"protocol":"UDP"},{"name":"dns-tcp","port":{{{port}}},"protocol":"TCP"}]}
            """)!.AsObject();
        slice["endpoints"] = new JsonArray(endpoints.Where(e => e.Port == port).Select(e => (JsonNode)new JsonObject
        {
            ["addresses"] = new JsonArray(e.Ip),
            ["conditions"] = new JsonObject { ["ready"] = true, ["serving"] = true, ["terminating"] = false },
            ["nodeName"] = e.Node,
        }).ToArray());
        return slice;
    }

    /// <summary>"ip:port" of a node's DNS server, as the kubelet announces it.</summary>
    public static string Announce(System.Net.IPAddress ip, int port) => string.Create(CultureInfo.InvariantCulture, $"{ip}:{port}");
}
