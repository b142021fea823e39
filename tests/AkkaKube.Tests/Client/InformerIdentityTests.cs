using System.Text.Json.Nodes;
using Akka.TestKit.Xunit2;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.Security;
using static AkkaKube.Actors.Machinery.ApiServerProtocol;

namespace AkkaKube.Tests.Client;

/// <summary>
/// The identity on the actor path: every request of a component's client carries the component, and shared informers
/// list as the client's informer identity — control-plane components share one informer, a kubelet has its own.
/// </summary>
public sealed class InformerIdentityTests : TestKit
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Requests_carry_the_components_identity_and_informers_are_shared_per_informer_identity()
    {
        var apiserver = CreateTestProbe();
        var root = new ActorKubeApi(apiserver.Ref, null, Wait);
        var scheduler = root.AsControlPlane(ComponentIdentities.KubeScheduler);
        var controller = root.AsControlPlane(ComponentIdentities.KubeControllerManager).WithCaller(ComponentIdentities.ServiceAccount("replicaset-controller"));
        var kubelet = root.As(UserInfo.Node("n1"));

        var write = controller.CreateAsync(ApiResource.ConfigMaps, "default", new JsonObject { ["metadata"] = new JsonObject { ["name"] = "x" } });
        var create = apiserver.ExpectMsg<ApiRequest>(Wait);
        Assert.Equal(("create", "system:serviceaccount:kube-system:replicaset-controller"), (create.Verb, create.User!.Name));
        Assert.Contains("system:serviceaccounts:kube-system", create.User.Groups);
        apiserver.Reply(new ApiResponse(201, """{"metadata":{"name":"x"}}"""));
        await write;

        var informers = SharedInformers.Get(Sys);
        var options = new InformerOptions(ApiResource.Nodes);
        foreach (var client in new[] { scheduler, controller, kubelet })
            informers.Subscribe(client, options, CreateTestProbe().Ref);

        var listers = new List<string>();
        while (listers.Count < 2)
        {
            var request = apiserver.ExpectMsg<ApiRequest>(Wait);
            if (request.Verb != "list") continue;
            listers.Add(request.User!.Name);
            apiserver.Reply(new ApiResponse(200, """{"kind":"NodeList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[]}"""));
        }
        Assert.Equal(["system:akkakube:component", "system:node:n1"], listers.Order(StringComparer.Ordinal));
        var nodes = (await informers.ListAsync(Wait)).Items.Where(i => i.Resource == ApiResource.Nodes.Partition).Select(i => i.Subscribers).Order();
        Assert.Equal([1, 2], nodes);
    }
}
