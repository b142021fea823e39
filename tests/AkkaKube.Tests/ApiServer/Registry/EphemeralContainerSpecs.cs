using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer.Registry;

namespace AkkaKube.Tests.ApiServer.Registry;

/// <summary>pods/ephemeralcontainers as kube-apiserver serves it: what a write may carry and what it may not change.</summary>
public class EphemeralContainerSpecs
{
    private static readonly ResourceStrategy Pods = ApiRegistry.CreateBuiltIn().Registrations.First(x => x.Resource.Kind == "Pod").Strategy;
    private static readonly IPartialSubresource Subresource = Pods.PartialSubresources["ephemeralcontainers"];

    private static JsonObject Pod(string ephemeral = "[]") => (JsonObject)JsonNode.Parse($$$"""
        {"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","resourceVersion":"7"},
         "spec":{"containers":[{"name":"app","image":"nginx"}],"ephemeralContainers":{{{ephemeral}}}},
         "status":{"phase":"Running"}}
        """)!;

    public static TheoryData<string, string, string> InvalidCases => new()
    {
        { "an ephemeral container named like a container of the pod", """[{"name":"app","image":"busybox"}]""", "spec.ephemeralContainers[0].name" },
        { "two ephemeral containers with one name", """[{"name":"d","image":"busybox"},{"name":"d","image":"busybox"}]""", "spec.ephemeralContainers[1].name" },
        { "an ephemeral container without image", """[{"name":"d"}]""", "spec.ephemeralContainers[0].image" },
        { "an ephemeral container with ports", """[{"name":"d","image":"busybox","ports":[{"containerPort":80}]}]""", "spec.ephemeralContainers[0].ports" },
        { "an ephemeral container with a readiness probe", """[{"name":"d","image":"busybox","readinessProbe":{"exec":{"command":["true"]}}}]""", "spec.ephemeralContainers[0].readinessProbe" },
        { "an ephemeral container with resources", """[{"name":"d","image":"busybox","resources":{"limits":{"cpu":"1"}}}]""", "spec.ephemeralContainers[0].resources" },
        { "a target that is not a container of the pod", """[{"name":"d","image":"busybox","targetContainerName":"nope"}]""", "spec.ephemeralContainers[0].targetContainerName" },
    };

    [Theory]
    [MemberData(nameof(InvalidCases))]
    public void Invalid_ephemeral_containers_name_the_field(string name, string ephemeral, string field)
    {
        _ = name;
        var sent = Subresource.Merge(Pod(), Pod(ephemeral));
        var causes = Pods.ValidateWrite(sent, Pod(), partial: Subresource);
        Assert.Contains(causes, c => c.Field == field);
    }

    [Fact]
    public void A_debug_container_as_kubectl_sends_it_is_valid_and_only_the_ephemeral_containers_are_taken()
    {
        var sent = Pod("""[{"name":"debugger-x","image":"busybox","resources":{},"stdin":true,"tty":true,"targetContainerName":"app","terminationMessagePolicy":"File"}]""");
        sent["spec"]!["containers"]![0]!["image"] = "changed"; // ignored, as kube-apiserver's subresource strategy ignores it
        sent["status"]!["phase"] = "Failed";
        var next = Subresource.Merge(Pod(), sent);
        Pods.Default(next);
        Assert.Empty(Pods.ValidateWrite(next, Pod(), partial: Subresource));
        Assert.Equal("nginx", next["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
        Assert.Equal("Running", next["status"]!["phase"]!.GetValue<string>());
        Assert.Equal("debugger-x", next["spec"]!["ephemeralContainers"]![0]!["name"]!.GetValue<string>());
    }

    [Fact]
    public void An_ephemeral_container_once_added_may_be_neither_removed_nor_changed()
    {
        var old = Pod("""[{"name":"d","image":"busybox"}]""");
        var removed = Pods.ValidateWrite(Subresource.Merge(old, Pod()), old, partial: Subresource);
        Assert.Contains(removed, c => c.Message.Contains("existing ephemeral containers \"d\" may not be removed"));
        var changed = Pods.ValidateWrite(Subresource.Merge(old, Pod("""[{"name":"d","image":"alpine"}]""")), old, partial: Subresource);
        Assert.Contains(changed, c => c.Message.Contains("existing ephemeral containers \"d\" may not be changed"));
    }

    [Fact]
    public void The_main_resource_cannot_add_ephemeral_containers()
    {
        var causes = Pods.ValidateWrite(Pod("""[{"name":"d","image":"busybox"}]"""), Pod());
        Assert.Contains(causes, c => c.Field == "spec");
    }
}
