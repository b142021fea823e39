using System.Text.Json.Nodes;
using AkkaKube.Actors.Controllers.EndpointSlice;
using k8s.Models;

namespace AkkaKube.Tests.Controllers.EndpointSlice;

/// <summary>Fluent pod builder for the controller's decisions.</summary>
public sealed class PodBuilder
{
    private readonly V1Pod _pod;

    private PodBuilder(string name)
    {
        _pod = new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default", Uid = "uid-" + name, Labels = new Dictionary<string, string> { ["app"] = "web" } },
            Spec = new V1PodSpec { NodeName = "node-1", Containers = [new V1Container { Name = "c", Image = "akkakube/echo" }] },
            Status = new V1PodStatus { Phase = "Running", PodIP = "127.64.0.10", Conditions = [new V1PodCondition { Type = "Ready", Status = "True" }] },
        };
    }

    public static PodBuilder MakePod(string name) => new(name);

    public PodBuilder Ip(string? ip) { _pod.Status.PodIP = ip; return this; }
    public PodBuilder Node(string node) { _pod.Spec.NodeName = node; return this; }
    public PodBuilder Namespace(string ns) { _pod.Metadata.NamespaceProperty = ns; return this; }
    public PodBuilder Label(string k, string v) { _pod.Metadata.Labels[k] = v; return this; }
    public PodBuilder NotReady() { _pod.Status.Conditions = [new V1PodCondition { Type = "Ready", Status = "False" }]; return this; }
    public PodBuilder Terminating() { _pod.Metadata.DeletionTimestamp = DateTime.UtcNow; return this; }
    public PodBuilder Phase(string phase) { _pod.Status.Phase = phase; return this; }
    public PodBuilder ContainerPort(string name, int port)
    {
        _pod.Spec.Containers[0].Ports ??= [];
        _pod.Spec.Containers[0].Ports.Add(new V1ContainerPort { Name = name, ContainerPort = port, Protocol = "TCP" });
        return this;
    }

    public V1Pod Obj() => _pod;
}

public sealed class EndpointSliceReconcilerTests
{
    private static readonly IReadOnlyDictionary<string, string> Zones = new Dictionary<string, string> { ["node-1"] = "zone-a", ["node-2"] = "zone-b" };

    private static V1Service Service(object? targetPort = null, Dictionary<string, string>? selector = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = "web", NamespaceProperty = "default", Uid = "svc-uid" },
        Spec = new V1ServiceSpec
        {
            Selector = selector ?? new Dictionary<string, string> { ["app"] = "web" },
            Ports = [new V1ServicePort { Name = "http", Port = 80, Protocol = "TCP", TargetPort = targetPort switch
            {
                null => (IntOrString)"8080",
                int n => (IntOrString)n.ToString(System.Globalization.CultureInfo.InvariantCulture),
                string s => (IntOrString)s,
                _ => throw new ArgumentException("targetPort"),
            } }],
        },
    };

    private static JsonArray Endpoints(JsonObject slice) => slice["endpoints"]!.AsArray();

    private static JsonObject EndpointOf(IReadOnlyList<JsonObject> slices, string pod) =>
        slices.SelectMany(Endpoints).OfType<JsonObject>().Single(e => e["targetRef"]!["name"]!.GetValue<string>() == pod);

    [Fact]
    public void A_ready_pod_is_a_ready_serving_endpoint_with_target_ref_node_and_zone()
    {
        var slices = EndpointSliceReconciler.DesiredSlices(Service(), [PodBuilder.MakePod("a").Node("node-2").Obj()], Zones);
        var slice = Assert.Single(slices);
        var ep = EndpointOf(slices, "a");
        Assert.Equal("127.64.0.10", ep["addresses"]![0]!.GetValue<string>());
        Assert.True(ep["conditions"]!["ready"]!.GetValue<bool>());
        Assert.True(ep["conditions"]!["serving"]!.GetValue<bool>());
        Assert.False(ep["conditions"]!["terminating"]!.GetValue<bool>());
        Assert.Equal("node-2", ep["nodeName"]!.GetValue<string>());
        Assert.Equal("zone-b", ep["zone"]!.GetValue<string>());
        Assert.Equal("Pod", ep["targetRef"]!["kind"]!.GetValue<string>());
        Assert.Equal("uid-a", ep["targetRef"]!["uid"]!.GetValue<string>());
        Assert.Equal("web", slice["metadata"]!["labels"]![EndpointSliceReconciler.ServiceNameLabel]!.GetValue<string>());
        Assert.Equal(EndpointSliceReconciler.ManagedBy, slice["metadata"]!["labels"]![EndpointSliceReconciler.ManagedByLabel]!.GetValue<string>());
        Assert.Equal("svc-uid", slice["metadata"]!["ownerReferences"]![0]!["uid"]!.GetValue<string>());
        Assert.Equal(8080, slice["ports"]![0]!["port"]!.GetValue<int>());
        Assert.Equal("IPv4", slice["addressType"]!.GetValue<string>());
    }

    public static TheoryData<string, Func<PodBuilder, PodBuilder>, bool?, bool?, bool?> Conditions => new()
    {
        { "a not-ready pod is listed but not ready", p => p.NotReady(), false, false, false },
        { "a terminating ready pod is serving and terminating, not ready", p => p.Terminating(), false, true, true },
        { "a terminating unready pod is neither ready nor serving", p => p.NotReady().Terminating(), false, false, true },
        { "a pod without an IP is left out", p => p.Ip(null), null, null, null },
        { "a pod of another namespace is left out", p => p.Namespace("other"), null, null, null },
        { "a pod the selector does not match is left out", p => p.Label("app", "db"), null, null, null },
        { "a succeeded pod is left out", p => p.Phase("Succeeded"), null, null, null },
    };

    [Theory]
    [MemberData(nameof(Conditions))]
    public void Pod_state_decides_the_endpoint_conditions(string because, Func<PodBuilder, PodBuilder> shape, bool? ready, bool? serving, bool? terminating)
    {
        var slices = EndpointSliceReconciler.DesiredSlices(Service(), [shape(PodBuilder.MakePod("a")).Obj()], Zones);
        var endpoints = slices.SelectMany(Endpoints).OfType<JsonObject>().ToList();
        if (ready is null)
        {
            Assert.True(endpoints.Count == 0, because);
            return;
        }
        var c = Assert.Single(endpoints)["conditions"]!;
        Assert.True(ready == c["ready"]!.GetValue<bool>(), because);
        Assert.True(serving == c["serving"]!.GetValue<bool>(), because);
        Assert.True(terminating == c["terminating"]!.GetValue<bool>(), because);
    }

    [Fact]
    public void A_named_target_port_is_resolved_per_pod_and_different_numbers_get_different_slices()
    {
        var pods = new[]
        {
            PodBuilder.MakePod("a").Ip("127.64.0.1").ContainerPort("web", 8080).Obj(),
            PodBuilder.MakePod("b").Ip("127.64.0.2").ContainerPort("web", 8080).Obj(),
            PodBuilder.MakePod("c").Ip("127.64.0.3").ContainerPort("web", 9090).Obj(),
        };
        var slices = EndpointSliceReconciler.DesiredSlices(Service("web"), pods, Zones);
        Assert.Equal(2, slices.Count);
        var bySize = slices.OrderByDescending(s => Endpoints(s).Count).ToList();
        Assert.Equal(8080, bySize[0]["ports"]![0]!["port"]!.GetValue<int>());
        Assert.Equal(2, Endpoints(bySize[0]).Count);
        Assert.Equal(9090, bySize[1]["ports"]![0]!["port"]!.GetValue<int>());
        Assert.Equal("http", bySize[1]["ports"]![0]!["name"]!.GetValue<string>());
    }

    [Fact]
    public void A_service_without_matching_pods_has_one_empty_slice()
    {
        var slice = Assert.Single(EndpointSliceReconciler.DesiredSlices(Service(), [], Zones));
        Assert.Empty(Endpoints(slice));
    }

    [Fact]
    public void The_plan_is_empty_when_the_stored_state_matches_and_updates_carry_the_resource_version()
    {
        var pods = new List<V1Pod> { PodBuilder.MakePod("a").Obj() };
        var stored = EndpointSliceReconciler.DesiredSlices(Service(), pods, Zones)
            .Select(s => { s["metadata"]!["resourceVersion"] = "7"; return s; }).ToList();
        var endpoints = EndpointSliceReconciler.DesiredEndpoints(Service(), pods);
        Assert.True(EndpointSliceReconciler.Plan(Service(), pods, Zones, stored, endpoints).IsEmpty);

        pods[0] = PodBuilder.MakePod("a").NotReady().Obj();
        var plan = EndpointSliceReconciler.Plan(Service(), pods, Zones, stored, endpoints);
        var update = Assert.Single(plan.Update);
        Assert.Equal("7", update["metadata"]!["resourceVersion"]!.GetValue<string>());
        Assert.Empty(plan.Create);
        Assert.Empty(plan.Delete);
        Assert.NotNull(plan.EndpointsUpdate);
    }

    [Fact]
    public void A_slice_no_longer_wanted_is_deleted()
    {
        var stale = EndpointSliceReconciler.DesiredSlices(Service("web"), [PodBuilder.MakePod("c").ContainerPort("web", 9090).Obj()], Zones);
        var plan = EndpointSliceReconciler.Plan(Service("web"), [PodBuilder.MakePod("a").ContainerPort("web", 8080).Obj()], Zones, stale, null);
        Assert.Single(plan.Create);
        Assert.Equal(EndpointSliceReconciler.Name(stale[0]), Assert.Single(plan.Delete));
        Assert.NotNull(plan.EndpointsCreate);
    }

    [Fact]
    public void Legacy_endpoints_split_ready_and_not_ready_addresses_and_leave_terminating_pods_out()
    {
        var pods = new[]
        {
            PodBuilder.MakePod("a").Ip("127.64.0.1").Obj(),
            PodBuilder.MakePod("b").Ip("127.64.0.2").NotReady().Obj(),
            PodBuilder.MakePod("c").Ip("127.64.0.3").Terminating().Obj(),
        };
        var subset = Assert.Single(EndpointSliceReconciler.DesiredEndpoints(Service(), pods)["subsets"]!.AsArray())!;
        Assert.Equal("127.64.0.1", Assert.Single(subset["addresses"]!.AsArray())!["ip"]!.GetValue<string>());
        Assert.Equal("127.64.0.2", Assert.Single(subset["notReadyAddresses"]!.AsArray())!["ip"]!.GetValue<string>());
        Assert.Equal(8080, subset["ports"]![0]!["port"]!.GetValue<int>());
    }
}
