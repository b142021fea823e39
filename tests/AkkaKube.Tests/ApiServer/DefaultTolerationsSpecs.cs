using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer;
using AkkaKube.Actors.ApiServer.Registry.Core;

namespace AkkaKube.Tests.ApiServer;

public class DefaultTolerationsSpecs
{
    private static JsonObject Pod(string tolerationsJson) =>
        JsonNode.Parse("""{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"x"}],"tolerations":""" + tolerationsJson + "}}")!.AsObject();

    [Fact]
    public void A_pod_without_tolerations_gets_both_default_NoExecute_tolerations_with_the_configured_seconds()
    {
        var pod = Pod("[]");
        PodStrategy.AddDefaultTolerations(pod, 7);
        var t = pod["spec"]!["tolerations"]!.AsArray().OfType<JsonObject>().ToList();
        Assert.Equal(2, t.Count);
        Assert.All(t, x => Assert.Equal(7, x["tolerationSeconds"]!.GetValue<long>()));
        Assert.Contains(t, x => x["key"]!.GetValue<string>() == "node.kubernetes.io/unreachable");
        Assert.Contains(t, x => x["key"]!.GetValue<string>() == "node.kubernetes.io/not-ready");
    }

    [Fact]
    public void A_pod_that_already_tolerates_unreachable_keeps_its_own_toleration()
    {
        var pod = Pod("""[{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":600}]""");
        PodStrategy.AddDefaultTolerations(pod, 5);
        var t = pod["spec"]!["tolerations"]!.AsArray().OfType<JsonObject>().ToList();
        Assert.Equal(2, t.Count);
        Assert.Equal(600, t.Single(x => x["key"]!.GetValue<string>() == "node.kubernetes.io/unreachable")["tolerationSeconds"]!.GetValue<long>());
    }

    [Fact]
    public void A_pod_tolerating_everything_gets_no_defaults()
    {
        var pod = Pod("""[{"operator":"Exists"}]""");
        PodStrategy.AddDefaultTolerations(pod, 5);
        Assert.Single(pod["spec"]!["tolerations"]!.AsArray());
    }
}
