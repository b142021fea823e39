using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Controllers;
using AkkaKube.Actors.Controllers.Job;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Tests.Controllers.Job;

/// <summary>The Job controller actor against an in-memory API that fails where a busy or failing-over cluster does.</summary>
public sealed class JobControllerTests : Akka.TestKit.Xunit2.TestKit
{
    public JobControllerTests() : base("akka.loglevel = WARNING") { }

    private static JsonObject Job(int completions) => JsonNode.Parse($$"""
        {"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"work","namespace":"default"},
         "spec":{"completions":{{completions}},"parallelism":1,"backoffLimit":0,
          "template":{"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"x"}]} } } }
        """)!.AsObject();

    private static async Task<List<JsonObject>> Pods(IKubeApi api) => (await api.ListAsync(ApiResource.Pods, "default")).Items.ToList();

    private static async Task Succeed(IKubeApi api, JsonObject pod)
    {
        var fresh = await api.GetAsync(ApiResource.Pods, "default", pod["metadata"]!["name"]!.GetValue<string>());
        fresh["status"] = new JsonObject { ["phase"] = "Succeeded" };
        await api.UpdateAsync(ApiResource.Pods, "default", fresh, subresource: "status");
    }

    [Fact]
    public async Task A_failed_finalizer_release_does_not_hold_back_the_next_pod_until_the_expectations_expire()
    {
        var api = new FinalizerPatchApi(failFirst: 1);
        await api.Inner.CreateAsync(ApiResource.Jobs, "default", Job(2));
        // expectations are trusted for 5 minutes, as in Kubernetes: only their release on failure can let the Job go on
        Sys.ActorOf(JobController.Props(api, new ControllerSettings { ExpectationsTimeout = TimeSpan.FromMinutes(5) }, new JobSettings()), "job");

        await AwaitAssertAsync(async () => Assert.Single(await Pods(api.Inner)), TimeSpan.FromSeconds(10));
        await Succeed(api.Inner, (await Pods(api.Inner))[0]);
        // The reconcile that counts the pod and creates the next one fails at the finalizer release (a store timeout);
        // its retry must create the second pod.
        await AwaitAssertAsync(async () => Assert.Equal(2, (await Pods(api.Inner)).Count), TimeSpan.FromSeconds(15));
        Assert.Equal(1, api.FailedPatches);
        await Succeed(api.Inner, (await Pods(api.Inner)).Single(p => p["status"]?["phase"]?.GetValue<string>() != "Succeeded"));
        await AwaitAssertAsync(async () =>
        {
            var job = await api.Inner.GetAsync(ApiResource.Jobs, "default", "work");
            Assert.Equal(2, job["status"]?["succeeded"]?.GetValue<int>());
            Assert.Contains(job["status"]?["conditions"]?.AsArray() ?? [], c => c?["type"]?.GetValue<string>() == "Complete");
        }, TimeSpan.FromSeconds(15));
        Assert.Equal(2, (await Pods(api.Inner)).Count);
        Assert.All(await Pods(api.Inner), p => Assert.False(JobLogic.HasFinalizer(p)));
    }

    /// <summary>
    /// An <see cref="InMemoryKubeApi"/> that applies the Job controller's finalizer-release JSON patch (test + remove at an
    /// index) and answers the first <paramref name="failFirst"/> of them with a 504, as a store that did not answer in time.
    /// </summary>
    private sealed class FinalizerPatchApi(int failFirst) : IKubeApi
    {
        private int _failed;
        public InMemoryKubeApi Inner { get; } = new();
        public int FailedPatches => Volatile.Read(ref _failed);

        public async Task<JsonObject> PatchAsync(ApiResource resource, string? ns, string name, PatchType type, string patch, string? subresource = null, CancellationToken ct = default)
        {
            if (resource != ApiResource.Pods || type != PatchType.Json) return await Inner.PatchAsync(resource, ns, name, type, patch, subresource, ct);
            if (Interlocked.Increment(ref _failed) <= failFirst) throw new KubeApiException(504, "Timeout", "the store did not answer within 10s (pods); retry");
            Interlocked.Decrement(ref _failed);
            var ops = JsonNode.Parse(patch)!.AsArray();
            var index = int.Parse(ops[1]!["path"]!.GetValue<string>().Split('/')[^1], System.Globalization.CultureInfo.InvariantCulture);
            var pod = await Inner.GetAsync(resource, ns, name, ct: ct);
            var finalizers = pod["metadata"]!["finalizers"]!.AsArray();
            if (index >= finalizers.Count || finalizers[index]!.GetValue<string>() != ops[0]!["value"]!.GetValue<string>())
                throw new KubeApiException(422, "Invalid", "the json patch test operation failed");
            finalizers.RemoveAt(index);
            return await Inner.UpdateAsync(resource, ns, pod, null, ct);
        }

        public Task<JsonObject> CreateAsync(ApiResource resource, string? ns, JsonObject obj, string? subresource = null, CancellationToken ct = default) => Inner.CreateAsync(resource, ns, obj, subresource, ct);
        public Task<JsonObject> GetAsync(ApiResource resource, string? ns, string name, string? subresource = null, CancellationToken ct = default) => Inner.GetAsync(resource, ns, name, subresource, ct);
        public Task<ObjectList> ListAsync(ApiResource resource, string? ns, ListOptions? options = null, CancellationToken ct = default) => Inner.ListAsync(resource, ns, options, ct);
        public Task<JsonObject> UpdateAsync(ApiResource resource, string? ns, JsonObject obj, string? subresource = null, CancellationToken ct = default) => Inner.UpdateAsync(resource, ns, obj, subresource, ct);
        public Task DeleteAsync(ApiResource resource, string? ns, string name, DeleteOptions? options = null, CancellationToken ct = default) => Inner.DeleteAsync(resource, ns, name, options, ct);
        public Task<string> WatchAsync(ApiResource resource, string? ns, IActorRef subscriber, string resourceVersion, ListOptions? options = null, CancellationToken ct = default) => Inner.WatchAsync(resource, ns, subscriber, resourceVersion, options, ct);
        public Task CancelWatchAsync(ApiResource resource, string watchId) => Inner.CancelWatchAsync(resource, watchId);
    }
}
