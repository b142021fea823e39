using System.Text.Json.Nodes;
using AkkaKube.Actors.Services;

namespace AkkaKube.Tests.Services;

public sealed class ServiceAllocationsTests
{
    private static readonly ServiceNetworkSettings Settings = ServiceNetworkSettings.Default;

    private static JsonObject Svc(string name, string spec, string ns = "default") =>
        JsonNode.Parse($$"""{"apiVersion":"v1","kind":"Service","metadata":{"name":"{{name}}","namespace":"{{ns}}"},"spec":{{spec}}}""")!.AsObject();

    private static string Field(ServiceAdmission a) => Assert.Single(a.Errors).ToString();

    public static TheoryData<string, string, string> InvalidServices => new()
    {
        { "a port above 65535 is refused with the field named", """{"ports":[{"port":70000}]}""", "spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive" },
        { "port zero is refused", """{"ports":[{"port":0}]}""", "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive" },
        { "a service without ports is refused", """{"selector":{"app":"x"}}""", "spec.ports: Required value" },
        { "an unknown protocol is refused", """{"ports":[{"port":80,"protocol":"HTTP"}]}""", "spec.ports[0].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"" },
        { "two ports need names", """{"ports":[{"port":80,"name":"a"},{"port":81}]}""", "spec.ports[1].name: Required value" },
        { "a duplicate port name is refused", """{"ports":[{"port":80,"name":"a"},{"port":81,"name":"a"}]}""", "spec.ports[1].name: Duplicate value: \"a\"" },
        { "a duplicate port is refused", """{"ports":[{"port":80,"name":"a"},{"port":80,"name":"b"}]}""", "spec.ports[1]: Duplicate value: \"80/TCP\"" },
        { "a numeric targetPort out of range is refused", """{"ports":[{"port":80,"targetPort":0}]}""", "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive" },
        { "a named targetPort with bad characters is refused", """{"ports":[{"port":80,"targetPort":"Web_Port"}]}""", "spec.ports[0].targetPort: Invalid value: \"Web_Port\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)" },
        { "a named targetPort longer than 15 is refused", """{"ports":[{"port":80,"targetPort":"a-very-long-port-name"}]}""", "spec.ports[0].targetPort: Invalid value: \"a-very-long-port-name\": must be no more than 15 characters" },
        { "an invalid selector value is refused", """{"ports":[{"port":80}],"selector":{"app":"bad value!"}}""", "spec.selector: Invalid value: \"bad value!\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')" },
        { "an unknown type is refused", """{"type":"Magic","ports":[{"port":80}]}""", "spec.type: Unsupported value: \"Magic\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"" },
        { "a nodePort on a ClusterIP service is forbidden", """{"ports":[{"port":80,"nodePort":30080}]}""", "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'" },
        { "a nodePort outside the range is refused", """{"type":"NodePort","ports":[{"port":80,"nodePort":40000}]}""", "spec.ports[0].nodePort: Invalid value: 40000: provided port is not in the valid range. The range of valid ports is 30000-32767" },
        { "a clusterIP outside the service range is refused", """{"clusterIP":"10.0.0.1","ports":[{"port":80}]}""", "spec.clusterIPs[0]: Invalid value: \"10.0.0.1\": failed to allocate IP 10.0.0.1: provided IP is not in the valid range. The range of valid IPs is 127.128.0.0/22" },
        { "a headless NodePort service is refused", """{"type":"NodePort","clusterIP":"None","ports":[{"port":80}]}""", "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for LoadBalancer or NodePort services" },
        { "externalTrafficPolicy on a ClusterIP service is refused", """{"externalTrafficPolicy":"Local","ports":[{"port":80}]}""", "spec.externalTrafficPolicy: Invalid value: \"Local\": may only be set when `type` is 'NodePort' or 'LoadBalancer'" },
        { "an unknown session affinity is refused", """{"sessionAffinity":"Cookie","ports":[{"port":80}]}""", "spec.sessionAffinity: Unsupported value: \"Cookie\": supported values: \"ClientIP\", \"None\"" },
    };

    [Theory]
    [MemberData(nameof(InvalidServices))]
    public void Invalid_services_are_refused_with_the_field_named(string because, string spec, string expected)
    {
        var result = new ServiceAllocations(Settings).Admit(Svc("web", spec), null);
        Assert.False(result.Ok, because);
        // the first cause is the one named; a defaulted targetPort may add its own (as in Kubernetes)
        Assert.Equal(expected, result.Errors[0].ToString());
    }

    [Fact]
    public void A_created_service_gets_a_cluster_ip_in_range_and_kubernetes_defaults()
    {
        var result = new ServiceAllocations(Settings).Admit(Svc("web", """{"selector":{"app":"web"},"ports":[{"port":80}]}"""), null);
        Assert.True(result.Ok);
        var spec = result.Service!["spec"]!;
        var ip = System.Net.IPAddress.Parse(spec["clusterIP"]!.GetValue<string>());
        Assert.True(Settings.InRange(ip));
        Assert.NotEqual("127.128.0.1", ip.ToString());
        Assert.Equal(ip.ToString(), spec["clusterIPs"]![0]!.GetValue<string>());
        Assert.Equal("ClusterIP", spec["type"]!.GetValue<string>());
        Assert.Equal("None", spec["sessionAffinity"]!.GetValue<string>());
        Assert.Equal("TCP", spec["ports"]![0]!["protocol"]!.GetValue<string>());
        Assert.Equal(80, spec["ports"]![0]!["targetPort"]!.GetValue<int>());
    }

    [Fact]
    public void The_first_address_is_only_for_the_kubernetes_service()
    {
        var allocations = new ServiceAllocations(Settings);
        var other = allocations.Admit(Svc("web", """{"clusterIP":"127.128.0.1","ports":[{"port":80}]}"""), null);
        Assert.Equal("spec.clusterIPs[0]: Invalid value: \"127.128.0.1\": failed to allocate IP 127.128.0.1: provided IP is already allocated", Field(other));
        var kubernetes = allocations.Admit(Svc("kubernetes", """{"clusterIP":"127.128.0.1","ports":[{"name":"https","port":443,"targetPort":6443}]}"""), null);
        Assert.True(kubernetes.Ok);
    }

    [Fact]
    public void A_node_port_already_allocated_is_refused()
    {
        var allocations = new ServiceAllocations(Settings);
        var first = allocations.Admit(Svc("a", """{"type":"NodePort","ports":[{"port":80,"nodePort":30080}]}"""), null);
        Assert.True(first.Ok);
        allocations.Observe(first.Service!);
        var second = allocations.Admit(Svc("b", """{"type":"NodePort","ports":[{"port":80,"nodePort":30080}]}"""), null);
        Assert.Equal("spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated", Field(second));
    }

    [Fact]
    public void A_pending_claim_blocks_a_second_create_until_it_expires()
    {
        var now = DateTimeOffset.UnixEpoch;
        var allocations = new ServiceAllocations(Settings, () => now);
        Assert.True(allocations.Admit(Svc("a", """{"clusterIP":"127.128.3.9","ports":[{"port":80}]}"""), null).Ok);
        Assert.False(allocations.Admit(Svc("b", """{"clusterIP":"127.128.3.9","ports":[{"port":80}]}"""), null).Ok);
        now += Settings.PendingClaimTtl + TimeSpan.FromSeconds(1); // the first create never reached the store
        Assert.True(allocations.Admit(Svc("b", """{"clusterIP":"127.128.3.9","ports":[{"port":80}]}"""), null).Ok);
    }

    [Fact]
    public void Allocations_derived_from_stored_services_survive_a_restart()
    {
        var before = new ServiceAllocations(Settings);
        var stored = Enumerable.Range(0, 50)
            .Select(i => before.Admit(Svc($"s{i}", """{"type":"NodePort","ports":[{"port":80}]}"""), null).Service!)
            .ToList();
        var restarted = new ServiceAllocations(Settings, random: new Random(1));
        restarted.Reset(stored);
        var usedIps = stored.Select(s => s["spec"]!["clusterIP"]!.GetValue<string>()).ToHashSet();
        var usedPorts = stored.Select(s => s["spec"]!["ports"]![0]!["nodePort"]!.GetValue<int>()).ToHashSet();
        Assert.Equal(50, usedIps.Count);
        Assert.Equal(50, usedPorts.Count);
        for (var i = 0; i < 200; i++)
        {
            var fresh = restarted.Admit(Svc($"n{i}", """{"type":"NodePort","ports":[{"port":80}]}"""), null).Service!;
            Assert.DoesNotContain(fresh["spec"]!["clusterIP"]!.GetValue<string>(), usedIps);
            Assert.DoesNotContain(fresh["spec"]!["ports"]![0]!["nodePort"]!.GetValue<int>(), usedPorts);
        }
    }

    [Fact]
    public void A_deleted_service_frees_its_node_port()
    {
        var allocations = new ServiceAllocations(Settings);
        var a = allocations.Admit(Svc("a", """{"type":"NodePort","ports":[{"port":80,"nodePort":31000}]}"""), null).Service!;
        allocations.Observe(a);
        allocations.Forget(a);
        Assert.True(allocations.Admit(Svc("b", """{"type":"NodePort","ports":[{"port":80,"nodePort":31000}]}"""), null).Ok);
    }

    [Fact]
    public void An_update_keeps_allocated_values_it_left_out_and_may_not_change_the_cluster_ip()
    {
        var allocations = new ServiceAllocations(Settings);
        var created = allocations.Admit(Svc("a", """{"type":"NodePort","ports":[{"port":80}]}"""), null).Service!;
        allocations.Observe(created);
        var updated = allocations.Admit(Svc("a", """{"type":"NodePort","ports":[{"port":80,"targetPort":8080}]}"""), created);
        Assert.True(updated.Ok);
        Assert.Equal(created["spec"]!["clusterIP"]!.GetValue<string>(), updated.Service!["spec"]!["clusterIP"]!.GetValue<string>());
        Assert.Equal(created["spec"]!["ports"]![0]!["nodePort"]!.GetValue<int>(), updated.Service!["spec"]!["ports"]![0]!["nodePort"]!.GetValue<int>());

        var moved = allocations.Admit(Svc("a", """{"type":"NodePort","clusterIP":"127.128.2.200","ports":[{"port":80}]}"""), created);
        Assert.Equal("spec.clusterIPs[0]: Invalid value: \"127.128.2.200\": may not change once set", Field(moved));
    }

    [Fact]
    public void A_headless_service_gets_no_cluster_ip()
    {
        var result = new ServiceAllocations(Settings).Admit(Svc("db", """{"clusterIP":"None","selector":{"app":"db"}}"""), null);
        Assert.True(result.Ok);
        Assert.Equal("None", result.Service!["spec"]!["clusterIPs"]![0]!.GetValue<string>());
    }

    [Fact]
    public void Settings_name_the_option_when_invalid()
    {
        var e = Assert.Throws<ArgumentException>(() => ServiceNetworkSettings.Create(
            Akka.Configuration.ConfigurationFactory.ParseString("akkakube.services.node-port-range = \"32767-30000\"")));
        Assert.Contains("akkakube.services.node-port-range", e.Message);
    }
}
