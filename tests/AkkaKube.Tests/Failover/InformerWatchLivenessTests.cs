using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Store;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Tests.Failover;

/// <summary>
/// A store partition that dies with its node (kill -9) cannot end its watches. Informers must notice on their own,
/// or a kubelet never sees the pods bound to it after the control-plane node hosting the pods partition died.
/// </summary>
public sealed class InformerWatchLivenessTests : TestKit
{
    private static JsonObject ConfigMap(string name) => new()
    {
        ["apiVersion"] = "v1", ["kind"] = "ConfigMap",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "default" },
    };

    [Fact]
    public async Task An_informer_relists_when_the_partition_that_confirmed_its_watch_terminates_and_misses_no_change()
    {
        var api = new LosingWatchApi { LoseWatches = true };
        await api.Inner.CreateAsync(ApiResource.ConfigMaps, "default", ConfigMap("before"));
        var options = new InformerOptions(ApiResource.ConfigMaps) { WatchStartTimeout = TimeSpan.FromMinutes(5) };
        var informer = Sys.ActorOf(Informer.Props(api, options, TestActor));
        ExpectMsg<InformerProtocol.Synced>(s => Assert.Contains("default/before", s.Objects.Keys));

        // A partition actor confirms the watch, then dies without ending it (its node was killed).
        AwaitCondition(() => api.LastWatchId.Length > 0, TimeSpan.FromSeconds(10));
        var partition = Sys.ActorOf(Props.Create(() => new SilentPartition()));
        informer.Tell(new WatchProtocol.WatchStarted(api.LastWatchId, 1), partition);
        await api.Inner.CreateAsync(ApiResource.ConfigMaps, "default", ConfigMap("during")); // lost: the watch is dead
        api.LoseWatches = false;
        Sys.Stop(partition);

        // The re-list delivers the change the dead watch lost, then the whole cache.
        var added = FishForMessage<InformerProtocol.Added>(_ => true, TimeSpan.FromSeconds(10));
        Assert.Equal("default/during", added.Key);
        ExpectMsg<InformerProtocol.Synced>(s => Assert.Equal(2, s.Objects.Count));
    }

    [Fact]
    public async Task An_informer_relists_when_no_partition_confirms_its_watch_in_time()
    {
        var api = new LosingWatchApi { LoseWatches = true };
        var options = new InformerOptions(ApiResource.ConfigMaps) { WatchStartTimeout = TimeSpan.FromMilliseconds(500) };
        Sys.ActorOf(Informer.Props(api, options, TestActor));
        ExpectMsg<InformerProtocol.Synced>();
        await api.Inner.CreateAsync(ApiResource.ConfigMaps, "default", ConfigMap("late")); // the lost watch never tells
        api.LoseWatches = false;

        var added = FishForMessage<InformerProtocol.Added>(_ => true, TimeSpan.FromSeconds(10));
        Assert.Equal("default/late", added.Key);
    }

    private sealed class SilentPartition : ReceiveActor
    {
        public SilentPartition() => ReceiveAny(_ => { });
    }

    /// <summary>An <see cref="InMemoryKubeApi"/> whose watches can be lost on the way (StartWatch sent to a dead node).</summary>
    private sealed class LosingWatchApi : IKubeApi
    {
        public InMemoryKubeApi Inner { get; } = new();
        public volatile bool LoseWatches;
        public string LastWatchId { get; private set; } = "";
        private int _lost;

        public Task<JsonObject> GetAsync(ApiResource resource, string? ns, string name, string? subresource = null, CancellationToken ct = default) => Inner.GetAsync(resource, ns, name, subresource, ct);
        public Task<ObjectList> ListAsync(ApiResource resource, string? ns, ListOptions? options = null, CancellationToken ct = default) => Inner.ListAsync(resource, ns, options, ct);
        public Task<JsonObject> CreateAsync(ApiResource resource, string? ns, JsonObject obj, string? subresource = null, CancellationToken ct = default) => Inner.CreateAsync(resource, ns, obj, subresource, ct);
        public Task<JsonObject> UpdateAsync(ApiResource resource, string? ns, JsonObject obj, string? subresource = null, CancellationToken ct = default) => Inner.UpdateAsync(resource, ns, obj, subresource, ct);
        public Task<JsonObject> PatchAsync(ApiResource resource, string? ns, string name, PatchType type, string patch, string? subresource = null, CancellationToken ct = default) => Inner.PatchAsync(resource, ns, name, type, patch, subresource, ct);
        public Task DeleteAsync(ApiResource resource, string? ns, string name, DeleteOptions? options = null, CancellationToken ct = default) => Inner.DeleteAsync(resource, ns, name, options, ct);
        public Task CancelWatchAsync(ApiResource resource, string watchId) => Inner.CancelWatchAsync(resource, watchId);

        public async Task<string> WatchAsync(ApiResource resource, string? ns, IActorRef subscriber, string resourceVersion, ListOptions? options = null, CancellationToken ct = default)
        {
            if (LoseWatches)
            {
                LastWatchId = $"lost-{Interlocked.Increment(ref _lost)}";
                return LastWatchId;
            }
            LastWatchId = await Inner.WatchAsync(resource, ns, subscriber, resourceVersion, options, ct);
            return LastWatchId;
        }
    }
}
