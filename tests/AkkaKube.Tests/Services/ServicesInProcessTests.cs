using Akka.Actor;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Services;
using AkkaKube.Tests.Infrastructure;
using AkkaKube.Tests.Proxy;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Tests.Services;

/// <summary>
/// Services end to end inside one all-in-one node: apiserver allocation and validation, the EndpointSlice
/// controller, the cloud controller and the proxy really forwarding. Pods are created by hand through the
/// API (status.podIP and Ready written like a kubelet would) and "run" as echo backends on their pod IPs.
/// </summary>
public sealed class ServicesInProcessTests(ProxyOnlyNode node) : IClassFixture<ProxyOnlyNode>, IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly List<IAsyncDisposable> _owned = [];
    private IKubeApi Api => KubeApi.Get(node.System).Api;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var owned in _owned) await owned.DisposeAsync();
    }

    private static JsonObject J(string json) => JsonNode.Parse(json)!.AsObject();

    /// <summary>A pod "running" at <paramref name="ip"/>: an echo backend there, and the Pod object with status written.</summary>
    private async Task<EchoBackend> RunPod(string name, string app, string ip, bool ready = true)
    {
        var backend = new EchoBackend(name, IPAddress.Parse(ip));
        _owned.Add(backend);
        await Api.CreateAsync(ApiResource.Pods, "default", J($$$"""
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"{{{name}}}","labels":{"app":"{{{app}}}"}},
             "spec":{"nodeName":"{{{node.Options.NodeName}}}","containers":[{"name":"echo","image":"akkakube/echo",
               "ports":[{"name":"http","containerPort":{{{backend.EndPoint.Port}}}}]}]}}
            """));
        await SetReady(name, ip, ready);
        return backend;
    }

    private async Task SetReady(string name, string ip, bool ready)
    {
        for (var attempt = 0; ; attempt++)
        {
            var pod = await Api.GetAsync(ApiResource.Pods, "default", name);
            pod["status"] = J($$"""
                {"phase":"Running","podIP":"{{ip}}","podIPs":[{"ip":"{{ip}}"}],
                 "conditions":[{"type":"Ready","status":"{{(ready ? "True" : "False")}}"}]}
                """);
            try
            {
                await Api.UpdateAsync(ApiResource.Pods, "default", pod, "status");
                return;
            }
            catch (KubeApiException e) when (e.IsConflict && attempt < 5) { }
        }
    }

    private async Task<JsonObject> Eventually(Func<Task<JsonObject?>> probe, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            if (await probe() is { } found) return found;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"not within {Patience}: {what}");
            await Task.Delay(100);
        }
    }

    private async Task<List<JsonObject>> Slices(string service) =>
        (await Api.ListAsync(ApiResource.EndpointSlices, "default", new ListOptions($"kubernetes.io/service-name={service}"))).Items.ToList();

    private static IEnumerable<JsonObject> EndpointsOf(IEnumerable<JsonObject> slices) =>
        slices.SelectMany(s => (s["endpoints"] as JsonArray ?? []).OfType<JsonObject>());

    /// <summary>Greetings of <paramref name="count"/> fresh connections; a failed connection counts as null.</summary>
    private static async Task<List<string?>> Greetings(IPEndPoint frontend, int count)
    {
        var seen = new List<string?>();
        for (var i = 0; i < count; i++)
        {
            try { seen.Add(await LineClient.GreetingAsync(frontend)); }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or TimeoutException) { seen.Add(null); }
        }
        return seen;
    }

    private async Task AnswersFromExactly(IPEndPoint frontend, params string[] pods)
    {
        var deadline = DateTime.UtcNow + Patience;
        List<string?> seen;
        do
        {
            seen = await Greetings(frontend, 3 * pods.Length);
            if (seen.All(s => s is not null && pods.Contains(s)) && pods.All(seen.Contains)) return;
            await Task.Delay(100);
        } while (DateTime.UtcNow < deadline);
        Assert.Fail($"{frontend} answered [{string.Join(", ", seen)}], expected exactly [{string.Join(", ", pods)}]");
    }

    [Fact]
    public async Task A_service_answers_from_its_ready_pods_and_an_unready_pod_drops_out_of_slice_and_rotation()
    {
        await RunPod("web-1", "web", "127.64.200.11");
        await RunPod("web-2", "web", "127.64.200.12");
        var svc = await Api.CreateAsync(ApiResource.Services, "default", J("""
            {"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},
             "spec":{"selector":{"app":"web"},"ports":[{"name":"http","port":80,"targetPort":"http"}]}}
            """));
        var clusterIp = IPAddress.Parse(svc["spec"]!["clusterIP"]!.GetValue<string>());
        Assert.Equal(128, clusterIp.GetAddressBytes()[1]);

        await Eventually(async () =>
        {
            var ready = EndpointsOf(await Slices("web")).Where(e => e["conditions"]?["ready"]?.GetValue<bool>() == true).ToList();
            return ready.Count == 2 ? ready[0] : null;
        }, "two ready endpoints in the slice");
        // the two echo pods listen on different ports, so the named targetPort resolves differently: one slice each
        // (the placeholder slice made before the pods were seen goes away)
        await Eventually(async () => await Slices("web") is { Count: 2 } two && two.All(s => EndpointsOf([s]).Count() == 1) ? two[0] : null, "one slice per port");
        foreach (var slice in await Slices("web"))
        {
            Assert.Equal("endpointslice-controller.k8s.io", slice["metadata"]!["labels"]!["endpointslice.kubernetes.io/managed-by"]!.GetValue<string>());
            Assert.All(EndpointsOf([slice]), e => Assert.Equal("node-1", e["nodeName"]!.GetValue<string>()));
        }
        await AnswersFromExactly(new IPEndPoint(clusterIp, 80), "web-1", "web-2");

        await SetReady("web-2", "127.64.200.12", ready: false);
        await Eventually(async () =>
            EndpointsOf(await Slices("web")).FirstOrDefault(e =>
                e["targetRef"]!["name"]!.GetValue<string>() == "web-2" && e["conditions"]!["ready"]!.GetValue<bool>() == false),
            "web-2 not ready in the slice");
        await AnswersFromExactly(new IPEndPoint(clusterIp, 80), "web-1");

        var endpoints = await Eventually(async () =>
        {
            var ep = await Api.GetAsync(ApiResource.Endpoints, "default", "web");
            var subsets = (ep["subsets"] as JsonArray ?? []).OfType<JsonObject>().ToList();
            return subsets.Any(s => s["notReadyAddresses"]?[0]?["ip"]?.GetValue<string>() == "127.64.200.12")
                   && subsets.Any(s => s["addresses"]?[0]?["ip"]?.GetValue<string>() == "127.64.200.11") ? ep : null;
        }, "web-1 ready and web-2 in notReadyAddresses of the Endpoints");
        Assert.NotNull(endpoints);
    }

    [Fact]
    public async Task Node_port_and_load_balancer_addresses_answer()
    {
        await RunPod("lb-1", "lb", "127.64.200.21");
        var svc = await Api.CreateAsync(ApiResource.Services, "default", J("""
            {"apiVersion":"v1","kind":"Service","metadata":{"name":"lb"},
             "spec":{"type":"LoadBalancer","selector":{"app":"lb"},"ports":[{"port":8080,"targetPort":"http"}]}}
            """));
        var nodePort = svc["spec"]!["ports"]![0]!["nodePort"]!.GetValue<int>();
        Assert.InRange(nodePort, 30000, 32767);
        await AnswersFromExactly(new IPEndPoint(node.Options.NodeIp, nodePort), "lb-1");

        var withIngress = await Eventually(async () =>
        {
            var s = await Api.GetAsync(ApiResource.Services, "default", "lb");
            return s["status"]?["loadBalancer"]?["ingress"]?[0]?["ip"] is not null ? s : null;
        }, "a load-balancer ingress address");
        var lbIp = IPAddress.Parse(withIngress["status"]!["loadBalancer"]!["ingress"]![0]!["ip"]!.GetValue<string>());
        Assert.Equal(200, lbIp.GetAddressBytes()[1]);
        await AnswersFromExactly(new IPEndPoint(lbIp, 8080), "lb-1");
    }

    public static TheoryData<string, string, string> BadServices => new()
    {
        { "a port out of range", """{"ports":[{"port":70000}]}""", "spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive" },
        { "an invalid selector", """{"selector":{"app":"no spaces"},"ports":[{"port":80}]}""", "spec.selector: Invalid value: \"no spaces\"" },
        { "an invalid targetPort", """{"ports":[{"port":80,"targetPort":"Not_Valid"}]}""", "spec.ports[0].targetPort: Invalid value: \"Not_Valid\"" },
        { "a duplicate port", """{"ports":[{"name":"a","port":80},{"name":"b","port":80}]}""", "spec.ports[1]: Duplicate value: \"80/TCP\"" },
    };

    private async Task<(HttpStatusCode Code, string Body)> PostService(string name, string spec)
    {
        using var http = node.NewHttpClient();
        var body = $$"""{"apiVersion":"v1","kind":"Service","metadata":{"name":"{{name}}"},"spec":{{spec}}}""";
        using var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await http.PostAsync("/api/v1/namespaces/default/services", content);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [MemberData(nameof(BadServices))]
    public async Task Bad_services_are_refused_with_422_naming_the_field(string because, string spec, string expected)
    {
        var (code, body) = await PostService("bad-" + Guid.NewGuid().ToString("N")[..6], spec);
        Assert.True(code == HttpStatusCode.UnprocessableEntity, $"{because}: {code} {body}");
        var status = JsonNode.Parse(body)!;
        Assert.Equal("Invalid", status["reason"]!.GetValue<string>());
        Assert.Contains(expected, status["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_node_port_conflict_is_refused_with_422_naming_the_field()
    {
        var (first, body) = await PostService("np-a", """{"type":"NodePort","ports":[{"port":80,"nodePort":30080}]}""");
        Assert.True(first == HttpStatusCode.Created, body);
        var (code, conflict) = await PostService("np-b", """{"type":"NodePort","ports":[{"port":80,"nodePort":30080}]}""");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, code);
        Assert.Contains("spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated", JsonNode.Parse(conflict)!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_kubernetes_service_fronts_the_apiserver_at_its_reserved_address()
    {
        var endpoints = await Eventually(async () =>
        {
            try
            {
                var ep = await Api.GetAsync(ApiResource.Endpoints, "default", "kubernetes");
                return ep["subsets"]?[0]?["addresses"]?[0]?["ip"] is not null ? ep : null;
            }
            catch (KubeApiException e) when (e.IsNotFound) { return null; }
        }, "Endpoints default/kubernetes with the apiserver address");
        Assert.Equal(node.Options.ApiPort, endpoints["subsets"]![0]!["ports"]![0]!["port"]!.GetValue<int>());
        var svc = await Api.GetAsync(ApiResource.Services, "default", "kubernetes");
        // the first address of the service range this node was configured with: its test address block's
        var serviceNetwork = ServiceNetworkSettings.Create(node.System.Settings.Config);
        Assert.Equal(AddressBlocks.ServiceCidr(node.AddressBlock), serviceNetwork.ServiceCidr);
        var kubernetesIp = serviceNetwork.KubernetesServiceIp.ToString();
        Assert.Equal(kubernetesIp, svc["spec"]!["clusterIP"]!.GetValue<string>());

        // HTTPS through the service address: the serving certificate names the ClusterIP, as in-cluster clients expect
        using var http = node.NewHttpClient(TimeSpan.FromSeconds(5));
        http.BaseAddress = new Uri($"https://{kubernetesIp}:443");
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            try
            {
                using var response = await http.GetAsync("/version");
                if (response.IsSuccessStatusCode) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Net.Sockets.SocketException or IOException) { }
            if (DateTime.UtcNow > deadline)
            {
                var proxy = Akka.Hosting.ActorRegistry.For(node.System).Get<AkkaKube.Actors.Proxy.ProxyActorKey>();
                var listeners = await proxy.Ask<AkkaKube.Actors.Proxy.ProxyProtocol.Listeners>(AkkaKube.Actors.Proxy.ProxyProtocol.GetListeners.Instance, TimeSpan.FromSeconds(5));
                var slices = string.Join("; ", (await Slices("kubernetes")).Select(x => x.ToJsonString()));
                Assert.Fail($"{kubernetesIp}:443 did not answer /version; proxy: {string.Join(", ", listeners.Specs.Select(l => $"{l.Frontend}->[{string.Join(",", l.Rules.Backends)}]"))}; slices: {slices}");
            }
            await Task.Delay(200);
        }
    }
}
