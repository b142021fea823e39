using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.Netpol;
using AkkaKube.Actors.Proxy;
using k8s;
using static AkkaKube.Tests.Netpol.NetpolRulesTests;

namespace AkkaKube.Tests.Netpol;

/// <summary>
/// The node's NetworkPolicy actor against an in-memory API: with nftables it writes the table from the informers and
/// rewrites it on change (and only then), removes it when it stops; without, every policy gets a NotEnforced event.
/// </summary>
public sealed class NetpolActorTests : Akka.TestKit.Xunit2.TestKit
{
    public NetpolActorTests() : base("akka.loglevel = WARNING") { }

    /// <summary>Records every transaction; all succeed except the first <see cref="FailFirst"/>.</summary>
    private sealed class RecordingNft : INftables
    {
        public ConcurrentQueue<string> Scripts { get; } = new();
        public int FailFirst;

        public Task<NftResult> ApplyAsync(string script, CancellationToken ct = default)
        {
            Scripts.Enqueue(script);
            return Task.FromResult(Interlocked.Decrement(ref FailFirst) >= 0 ? new NftResult(false, "Error: injected") : new NftResult(true, ""));
        }
    }

    private static JsonObject Json(object typed, string apiVersion, string kind)
    {
        var obj = JsonNode.Parse(KubernetesJson.Serialize(typed))!.AsObject();
        obj["apiVersion"] = apiVersion;
        obj["kind"] = kind;
        return obj;
    }

    private static readonly ProxySettings Fast = ProxySettings.Default with { NftMinRetry = TimeSpan.FromMilliseconds(50), NftMaxRetry = TimeSpan.FromMilliseconds(100) };

    [Fact]
    public async Task With_nftables_the_table_follows_policies_and_pods_and_is_removed_when_the_actor_stops()
    {
        var api = new InMemoryKubeApi();
        await api.CreateAsync(ApiResource.Namespaces, null, Json(Namespaces[0], "v1", "Namespace"));
        foreach (var pod in Pods.Take(3)) await api.CreateAsync(ApiResource.Pods, "shop", Json(pod, "v1", "Pod"));
        var nft = new RecordingNft { FailFirst = 1 };
        var actor = Sys.ActorOf(NetpolActor.Props(api, Fast, Node, nft, null));

        // The first attempt fails and is retried; the table then holds no isolated pod.
        AwaitCondition(() => nft.Scripts.Count >= 2, TimeSpan.FromSeconds(10));
        AwaitAssert(() => Assert.True(actor.Ask<NetpolProtocol.Status>(NetpolProtocol.GetStatus.Instance).Result.Applied), TimeSpan.FromSeconds(10));
        Assert.Contains("table inet akkakube-netpol-node-1", nft.Scripts.Last());
        Assert.DoesNotContain(": jump ", nft.Scripts.Last());

        await api.CreateAsync(ApiResource.NetworkPolicies, "shop", Json(Policy("deny", App("web"), ["Ingress"]), "networking.k8s.io/v1", "NetworkPolicy"));
        AwaitCondition(() => nft.Scripts.Last().Contains("10.244.1.5 : jump ingress-shop/web-a", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        var written = nft.Scripts.Count;

        // A pod change that does not touch the rules writes nothing; one that does (a new web pod) rewrites the table.
        var client = api.Peek(ApiResource.Pods, "shop", "client")!;
        client["metadata"]!["annotations"] = new JsonObject { ["note"] = "x" };
        await api.UpdateAsync(ApiResource.Pods, "shop", client);
        await api.CreateAsync(ApiResource.Pods, "shop", Json(Pod("web-c", "10.244.1.8", "web"), "v1", "Pod"));
        AwaitCondition(() => nft.Scripts.Last().Contains("10.244.1.8 : jump ingress-shop/web-c", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        Assert.Equal(written + 1, nft.Scripts.Count);

        Watch(actor);
        Sys.Stop(actor);
        ExpectTerminated(actor);
        Assert.Equal(NetpolRules.Remove(Node.Table), nft.Scripts.Last());
    }

    [Fact]
    public async Task Without_enforcement_every_policy_gets_one_not_enforced_warning_naming_the_node_and_the_reason()
    {
        var api = new InMemoryKubeApi();
        var reason = NetpolHostingExtensions.NotEnforcedReason(new ProxyModeDecision(ProxyMode.Userspace, ProxyMode.Userspace, null), "process");
        Sys.ActorOf(NetpolActor.Props(api, Fast, Node, null, reason));
        await api.CreateAsync(ApiResource.NetworkPolicies, "shop", Json(Policy("deny", null, ["Ingress"]), "networking.k8s.io/v1", "NetworkPolicy"));
        var policy = api.Peek(ApiResource.NetworkPolicies, "shop", "deny")!;
        policy["metadata"]!["labels"] = new JsonObject { ["x"] = "y" };
        await api.UpdateAsync(ApiResource.NetworkPolicies, "shop", policy);

        AwaitCondition(() => api.All(ApiResource.Events).Count > 0, TimeSpan.FromSeconds(10));
        var e = Assert.Single(api.All(ApiResource.Events));
        Assert.Equal("Warning", (string?)e["type"]);
        Assert.Equal(NetpolActor.NotEnforcedReason, (string?)e["reason"]);
        Assert.Equal("NetworkPolicy", (string?)e["involvedObject"]!["kind"]);
        Assert.Equal("deny", (string?)e["involvedObject"]!["name"]);
        Assert.Equal("shop", (string?)e["metadata"]!["namespace"]);
        Assert.Contains("not enforced on node node-1", (string?)e["message"]);
        Assert.Contains("process runtime", (string?)e["message"]);
        Assert.Equal(1, (int?)e["count"]); // the update is the same policy: reported once
    }
}
