using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Controllers;
using AkkaKube.Actors.Controllers.ReplicaSet;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Tests.Controllers;

public sealed class ReplicaSetControllerTests : Akka.TestKit.Xunit2.TestKit
{
    public ReplicaSetControllerTests() : base("akka.loglevel = WARNING") { }

    private static JsonObject ReplicaSet(int replicas) => JsonNode.Parse("""
        {"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"web","namespace":"default"},
         "spec":{"replicas":REPLICAS,"selector":{"matchLabels":{"app":"web"}},
          "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"x"}]}}}}
        """.Replace("REPLICAS", replicas.ToString(System.Globalization.CultureInfo.InvariantCulture)))!.AsObject();

    [Fact]
    public async Task Pods_are_created_in_slow_start_batches_capped_at_the_burst_and_never_beyond_replicas_while_the_pod_watch_lags()
    {
        var api = new SlowApi(Sys, createDelay: TimeSpan.FromMilliseconds(20), podWatchDelay: TimeSpan.FromMilliseconds(300));
        var live = 0;
        var peak = 0;
        api.Inner.OnChange = (r, type, _) =>
        {
            if (r != ApiResource.Pods) return;
            live += type switch { "ADDED" => 1, "DELETED" => -1, _ => 0 };
            peak = Math.Max(peak, live);
        };
        await api.Inner.CreateAsync(ApiResource.ReplicaSets, "default", ReplicaSet(40));
        Sys.ActorOf(ReplicaSetController.Props(api, new ControllerSettings { MaxBurst = 8 }), "replicaset");

        await AwaitAssertAsync(async () =>
        {
            var rs = await api.Inner.GetAsync(ApiResource.ReplicaSets, "default", "web");
            Assert.Equal(40, rs["status"]?["replicas"]?.GetValue<int>());
        }, TimeSpan.FromSeconds(30));
        // Let the lagging watch deliver everything and the controller reconcile again: still 40, never more.
        await AwaitAssertAsync(() => Assert.Equal(0, api.PendingWatchEvents), TimeSpan.FromSeconds(15));
        Assert.Equal(40, (await api.Inner.ListAsync(ApiResource.Pods, "default")).Items.Count);
        Assert.Equal(40, peak);
        Assert.Equal([1, 2, 4, 8, 8, 8, 8, 1], api.Batches);
    }

    /// <summary>
    /// An <see cref="InMemoryKubeApi"/> whose pod creates take a while (so concurrent creates are visible as batches:
    /// creates in flight together, separated by a moment with none) and whose pod watch events arrive late.
    /// </summary>
    private sealed class SlowApi(ActorSystem system, TimeSpan createDelay, TimeSpan podWatchDelay) : IKubeApi
    {
        private readonly object _gate = new();
        private int _inFlight;
        private int _pending;

        public InMemoryKubeApi Inner { get; } = new();
        public List<int> Batches { get; } = [];
        public int PendingWatchEvents => Volatile.Read(ref _pending);

        public async Task<JsonObject> CreateAsync(ApiResource resource, string? ns, JsonObject obj, string? subresource = null, CancellationToken ct = default)
        {
            if (resource != ApiResource.Pods) return await Inner.CreateAsync(resource, ns, obj, subresource, ct);
            lock (_gate)
            {
                if (_inFlight++ == 0) Batches.Add(0);
                Batches[^1]++;
            }
            try
            {
                await Task.Delay(createDelay, ct);
                return await Inner.CreateAsync(resource, ns, obj, subresource, ct);
            }
            finally
            {
                lock (_gate) _inFlight--;
            }
        }

        public Task<string> WatchAsync(ApiResource resource, string? ns, IActorRef subscriber, string resourceVersion, ListOptions? options = null, CancellationToken ct = default) =>
            resource == ApiResource.Pods
                ? Inner.WatchAsync(resource, ns, system.ActorOf(Props.Create(() => new Delayer(subscriber, podWatchDelay, this))), resourceVersion, options, ct)
                : Inner.WatchAsync(resource, ns, subscriber, resourceVersion, options, ct);

        private sealed class Delayer : ReceiveActor, IWithTimers
        {
            private int _seq;
            public ITimerScheduler Timers { get; set; } = null!;

            private sealed record Due(object Message);

            public Delayer(IActorRef target, TimeSpan delay, SlowApi owner)
            {
                Receive<Due>(d =>
                {
                    Interlocked.Decrement(ref owner._pending);
                    target.Tell(d.Message, Self);
                });
                ReceiveAny(m =>
                {
                    Interlocked.Increment(ref owner._pending);
                    Timers.StartSingleTimer(_seq++, new Due(m), delay);
                });
            }
        }

        public Task<JsonObject> GetAsync(ApiResource resource, string? ns, string name, string? subresource = null, CancellationToken ct = default) => Inner.GetAsync(resource, ns, name, subresource, ct);
        public Task<ObjectList> ListAsync(ApiResource resource, string? ns, ListOptions? options = null, CancellationToken ct = default) => Inner.ListAsync(resource, ns, options, ct);
        public Task<JsonObject> UpdateAsync(ApiResource resource, string? ns, JsonObject obj, string? subresource = null, CancellationToken ct = default) => Inner.UpdateAsync(resource, ns, obj, subresource, ct);
        public Task<JsonObject> PatchAsync(ApiResource resource, string? ns, string name, PatchType type, string patch, string? subresource = null, CancellationToken ct = default) => Inner.PatchAsync(resource, ns, name, type, patch, subresource, ct);
        public Task DeleteAsync(ApiResource resource, string? ns, string name, DeleteOptions? options = null, CancellationToken ct = default) => Inner.DeleteAsync(resource, ns, name, options, ct);
        public Task CancelWatchAsync(ApiResource resource, string watchId) => Inner.CancelWatchAsync(resource, watchId);
    }
}
