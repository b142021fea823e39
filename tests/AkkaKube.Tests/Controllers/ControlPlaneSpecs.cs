using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors;
using AkkaKube.Actors.ApiServer;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Controllers;
using AkkaKube.Tests.Infrastructure;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Tests.Controllers;

/// <summary>
/// A real all-in-one node (store, apiserver, scheduler, controller-manager) with three Node objects in
/// zone-a/b/c and a stand-in kubelet that marks bound pods Running and Ready and removes terminating ones. NodeLifecycle is switched off
/// (the Node objects have no kubelet renewing their Leases).
/// </summary>
public sealed class ControlPlaneFixture : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private readonly CancellationTokenSource _stop = new();
    private Task? _kubelet;
    public InProcessNode Node { get; private set; } = null!;
    public IKubeApi Api => KubeApi.Get(Node.System).Api;

    public async Task InitializeAsync()
    {
        var conf = Path.Combine(_dir.Path, "test.conf");
        await File.WriteAllTextAsync(conf, "akkakube.controllers.enabled = [replicaset, deployment, garbage-collector, namespace, endpointslice, serviceaccount]\n");
        Node = new InProcessNode { Configure = o => o with { Worker = false, ConfigFiles = [conf] } };
        await Node.InitializeAsync();
        foreach (var zone in new[] { "zone-a", "zone-b", "zone-c" })
            await Retry(() => Api.CreateAsync(ApiResource.Nodes, null, JsonNode.Parse("""
                {"apiVersion":"v1","kind":"Node","metadata":{"name":"ZONE-node","labels":{"kubernetes.io/hostname":"ZONE-node","topology.kubernetes.io/zone":"ZONE"}},
                 "status":{"allocatable":{"cpu":"4","memory":"8Gi","pods":"110"},"capacity":{"cpu":"4","memory":"8Gi","pods":"110"}}}
                """.Replace("ZONE", zone))!.AsObject()));
        // Pods are refused until the serviceaccount controller made default/default (ServiceAccount admission); this node has no
        // kubelet, so InProcessNode does not wait for it.
        await Retry(() => Api.GetAsync(ApiResource.ServiceAccounts, "default", "default"));
        _kubelet = Task.Run(() => FakeKubelet(_stop.Token));
    }

    private static async Task Retry(Func<Task> call)
    {
        for (var i = 0; ; i++)
        {
            try { await call(); return; }
            // An earlier attempt that timed out may have landed after all.
            catch (KubeApiException e) when (e.IsAlreadyExists && i > 0) { return; }
            catch (KubeApiException) when (i < 50) { await Task.Delay(200); }
        }
    }

    /// <summary>Marks every bound pod Running + Ready (what a kubelet would report).</summary>
    private async Task FakeKubelet(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                foreach (var pod in (await Api.ListAsync(ApiResource.Pods, null, ct: ct)).Items)
                {
                    if (pod["spec"]?["nodeName"] is null) continue;
                    if (pod["metadata"]?["deletionTimestamp"] is not null)
                    {
                        // The kubelet's part of graceful deletion: containers stopped, remove the object.
                        try
                        {
                            await Api.DeleteAsync(ApiResource.Pods, pod["metadata"]!["namespace"]!.GetValue<string>(), pod["metadata"]!["name"]!.GetValue<string>(),
                                new DeleteOptions(GracePeriodSeconds: 0, PreconditionUid: pod["metadata"]!["uid"]!.GetValue<string>()), ct: ct);
                        }
                        catch (KubeApiException) { }
                        continue;
                    }
                    if (pod["status"]?["phase"]?.GetValue<string>() == "Running") continue;
                    var now = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
                    var patch = """{"status":{"phase":"Running","conditions":[{"type":"PodScheduled","status":"True"},{"type":"Ready","status":"True","lastTransitionTime":"NOW"}]}}""".Replace("NOW", now);
                    try
                    {
                        await Api.PatchAsync(ApiResource.Pods, pod["metadata"]!["namespace"]!.GetValue<string>(), pod["metadata"]!["name"]!.GetValue<string>(),
                            PatchType.Merge, patch, subresource: "status", ct: ct);
                    }
                    catch (KubeApiException) { }
                }
                await Task.Delay(150, ct);
            }
            catch (OperationCanceledException) { return; }
            catch (KubeApiException) { }
        }
    }

    public async Task DisposeAsync()
    {
        _stop.Cancel();
        if (_kubelet is not null) await _kubelet;
        await Node.DisposeAsync();
        _dir.Dispose();
    }
}

public sealed class ControlPlaneSpecs(ControlPlaneFixture fixture) : IClassFixture<ControlPlaneFixture>
{
    private IKubeApi Api => fixture.Api;

    private static async Task Eventually(Func<Task<bool>> condition, string what, int seconds = 30)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(seconds);
        while (DateTime.UtcNow < deadline)
        {
            try { if (await condition()) return; } catch (KubeApiException) { }
            await Task.Delay(100);
        }
        Assert.Fail("timed out waiting for " + what);
    }

    private static JsonObject Deployment(string name, int replicas, string image, string extraSpec = "", string podSpecExtra = "", string strategy = """{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1,"maxUnavailable":1}}""") =>
        JsonNode.Parse("""
        {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"NAME"},
         "spec":{"replicas":REPLICAS,"selector":{"matchLabels":{"app":"NAME"}},"strategy":STRATEGY SPECX,
                 "template":{"metadata":{"labels":{"app":"NAME"}},"spec":{"containers":[{"name":"c","image":"IMAGE"}] PODX}}}}
        """.Replace("NAME", name).Replace("REPLICAS", replicas.ToString(System.Globalization.CultureInfo.InvariantCulture))
           .Replace("IMAGE", image).Replace("STRATEGY", strategy).Replace("SPECX", extraSpec).Replace("PODX", podSpecExtra))!.AsObject();

    /// <summary>DELETE with a propagation policy; the apiserver records the policy as a finalizer with an update that
    /// can meet a concurrent status write (409), which a client retries.</summary>
    private async Task Delete(string deployment, string policy)
    {
        for (var i = 0; ; i++)
        {
            try { await Api.DeleteAsync(ApiResource.Deployments, "default", deployment, new DeleteOptions(policy)); return; }
            catch (KubeApiException e) when (e.IsConflict && i < 20) { await Task.Delay(50); }
        }
    }

    private async Task<List<JsonObject>> Pods(string app, string ns = "default") =>
        (await Api.ListAsync(ApiResource.Pods, ns, new ListOptions($"app={app}"))).Items.ToList();

    private async Task<List<JsonObject>> ReplicaSets(string app, string ns = "default") =>
        (await Api.ListAsync(ApiResource.ReplicaSets, ns, new ListOptions($"app={app}"))).Items.ToList();

    private static bool Ready(JsonObject p) => (p["status"]?["conditions"] as JsonArray)?.Any(c => c?["type"]?.GetValue<string>() == "Ready" && c["status"]?.GetValue<string>() == "True") == true;

    private async Task<bool> RolledOut(string name, string ns = "default")
    {
        var d = await Api.GetAsync(ApiResource.Deployments, ns, name);
        var s = d["status"];
        long L(JsonNode? n) => n?.GetValue<long>() ?? 0;
        var replicas = L(d["spec"]!["replicas"]);
        return L(s?["observedGeneration"]) >= L(d["metadata"]!["generation"]) && L(s?["updatedReplicas"]) == replicas
            && L(s?["replicas"]) == replicas && L(s?["availableReplicas"]) == replicas;
    }

    [Fact]
    public async Task A_deployment_of_six_with_a_zone_spread_constraint_lands_two_per_zone()
    {
        await Api.CreateAsync(ApiResource.Deployments, "default", Deployment("spread", 6, "nginx:1",
            podSpecExtra: ""","topologySpreadConstraints":[{"maxSkew":1,"topologyKey":"topology.kubernetes.io/zone","whenUnsatisfiable":"DoNotSchedule","labelSelector":{"matchLabels":{"app":"spread"}}}]"""));
        await Eventually(async () => (await Pods("spread")).Count(p => p["spec"]?["nodeName"] is not null) == 6, "six bound pods");
        var perNode = (await Pods("spread")).GroupBy(p => p["spec"]!["nodeName"]!.GetValue<string>()).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(new Dictionary<string, int> { ["zone-a-node"] = 2, ["zone-b-node"] = 2, ["zone-c-node"] = 2 }, perNode);
        var pod = (await Pods("spread"))[0];
        var owner = pod["metadata"]!["ownerReferences"]![0]!;
        Assert.Equal("ReplicaSet", owner["kind"]!.GetValue<string>());
        Assert.True(owner["controller"]!.GetValue<bool>() && owner["blockOwnerDeletion"]!.GetValue<bool>());
        await Eventually(() => RolledOut("spread"), "rollout complete");
    }

    [Fact]
    public async Task A_pod_asking_more_cpu_than_any_node_stays_pending_with_kube_schedulers_message()
    {
        await Api.CreateAsync(ApiResource.Pods, "default", JsonNode.Parse("""
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"huge"},"spec":{"containers":[{"name":"c","image":"x","resources":{"requests":{"cpu":"64"}}}]}}
            """)!.AsObject());
        string? message = null;
        await Eventually(async () =>
        {
            var pod = await Api.GetAsync(ApiResource.Pods, "default", "huge");
            var c = (pod["status"]?["conditions"] as JsonArray)?.FirstOrDefault(c => c?["type"]?.GetValue<string>() == "PodScheduled");
            message = c?["message"]?.GetValue<string>();
            return c?["status"]?.GetValue<string>() == "False" && c["reason"]?.GetValue<string>() == "Unschedulable";
        }, "PodScheduled=False");
        Assert.StartsWith("0/3 nodes are available: 3 Insufficient cpu.", message);
        await Eventually(async () => (await Api.ListAsync(ApiResource.Events, "default")).Items.Any(e =>
            e["reason"]?.GetValue<string>() == "FailedScheduling" && e["involvedObject"]?["name"]?.GetValue<string>() == "huge"), "FailedScheduling event");
        Assert.Null((await Api.GetAsync(ApiResource.Pods, "default", "huge"))["spec"]?["nodeName"]);
    }

    [Fact]
    public async Task A_rolling_update_respects_max_unavailable_and_rollout_undo_returns_to_the_previous_template()
    {
        await Api.CreateAsync(ApiResource.Deployments, "default", Deployment("roll", 4, "nginx:1",
            strategy: """{"type":"RollingUpdate","rollingUpdate":{"maxSurge":0,"maxUnavailable":1}}"""));
        await Eventually(() => RolledOut("roll"), "first rollout");
        await Api.PatchAsync(ApiResource.Deployments, "default", "roll", PatchType.Merge,
            """{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"nginx:2"}]}}}}""");
        var minReady = int.MaxValue;
        await Eventually(async () =>
        {
            var active = (await Pods("roll")).Where(p => p["metadata"]?["deletionTimestamp"] is null).ToList();
            minReady = Math.Min(minReady, active.Count(Ready));
            return await RolledOut("roll") && active.All(p => p["spec"]!["containers"]![0]!["image"]!.GetValue<string>() == "nginx:2") && active.Count == 4;
        }, "rollout to nginx:2");
        Assert.True(minReady >= 3, $"ready pods dropped to {minReady} (maxUnavailable 1 of 4)");
        var d = await Api.GetAsync(ApiResource.Deployments, "default", "roll");
        Assert.Equal("2", d["metadata"]!["annotations"]!["deployment.kubernetes.io/revision"]!.GetValue<string>());
        Assert.Contains((d["status"]!["conditions"] as JsonArray)!, c => c!["type"]!.GetValue<string>() == "Progressing" && c["reason"]!.GetValue<string>() == "NewReplicaSetAvailable");

        // kubectl rollout undo: copy revision 1's template (without pod-template-hash) into the deployment.
        var rs1 = (await ReplicaSets("roll")).Single(rs => rs["metadata"]!["annotations"]!["deployment.kubernetes.io/revision"]!.GetValue<string>() == "1");
        var template = rs1["spec"]!["template"]!.DeepClone().AsObject();
        template["metadata"]!["labels"]!.AsObject().Remove("pod-template-hash");
        await Api.PatchAsync(ApiResource.Deployments, "default", "roll", PatchType.Merge, new JsonObject { ["spec"] = new JsonObject { ["template"] = template } }.ToJsonString());
        await Eventually(async () =>
        {
            var active = (await Pods("roll")).Where(p => p["metadata"]?["deletionTimestamp"] is null).ToList();
            return await RolledOut("roll") && active.Count == 4 && active.All(p => p["spec"]!["containers"]![0]!["image"]!.GetValue<string>() == "nginx:1");
        }, "undo back to nginx:1");
        Assert.Equal(2, (await ReplicaSets("roll")).Count);
        var after = await Api.GetAsync(ApiResource.ReplicaSets, "default", rs1["metadata"]!["name"]!.GetValue<string>());
        Assert.Equal("3", after["metadata"]!["annotations"]!["deployment.kubernetes.io/revision"]!.GetValue<string>());
    }

    [Fact]
    public async Task Deleting_a_deployment_in_the_background_leaves_no_replica_set_or_pod()
    {
        await Api.CreateAsync(ApiResource.Deployments, "default", Deployment("bg", 2, "nginx:1"));
        await Eventually(async () => (await Pods("bg")).Count == 2, "two pods");
        await Delete("bg", "Background");
        await Eventually(async () => (await ReplicaSets("bg")).Count == 0 && (await Pods("bg")).Count == 0, "no replica set and no pod");
    }

    [Fact]
    public async Task Deleting_a_deployment_with_orphan_leaves_its_replica_set_without_owner_references()
    {
        await Api.CreateAsync(ApiResource.Deployments, "default", Deployment("orph", 2, "nginx:1"));
        await Eventually(async () => (await Pods("orph")).Count == 2, "two pods");
        await Delete("orph", "Orphan");
        await Eventually(async () =>
        {
            try { await Api.GetAsync(ApiResource.Deployments, "default", "orph"); return false; }
            catch (KubeApiException e) when (e.IsNotFound) { return true; }
        }, "deployment gone");
        var rs = Assert.Single(await ReplicaSets("orph"));
        Assert.Null(rs["metadata"]!["ownerReferences"]);
        await Task.Delay(1000); // give a wrong garbage collector the chance to delete them
        Assert.Equal(2, (await Pods("orph")).Count);
        Assert.Single(await ReplicaSets("orph"));
    }

    [Fact]
    public async Task Deleting_a_deployment_in_the_foreground_removes_its_dependents_before_it()
    {
        await Api.CreateAsync(ApiResource.Deployments, "default", Deployment("fg", 2, "nginx:1"));
        await Eventually(async () => (await Pods("fg")).Count == 2, "two pods");
        await Delete("fg", "Foreground");
        await Eventually(async () =>
        {
            var dependents = (await ReplicaSets("fg")).Count + (await Pods("fg")).Count;
            try
            {
                var d = await Api.GetAsync(ApiResource.Deployments, "default", "fg");
                Assert.NotNull(d["metadata"]!["deletionTimestamp"]);
                return false;
            }
            catch (KubeApiException e) when (e.IsNotFound)
            {
                Assert.Equal(0, dependents);
                return true;
            }
        }, "deployment deleted after its dependents");
    }

    [Fact]
    public async Task Deleting_a_namespace_empties_it()
    {
        await Api.CreateAsync(ApiResource.Namespaces, null, JsonNode.Parse("""{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team"}}""")!.AsObject());
        await Api.CreateAsync(ApiResource.Deployments, "team", Deployment("ns-app", 2, "nginx:1"));
        await Api.CreateAsync(ApiResource.ConfigMaps, "team", JsonNode.Parse("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"a":"b"}}""")!.AsObject());
        await Eventually(async () => (await Pods("ns-app", "team")).Count == 2, "two pods in team");
        await Api.DeleteAsync(ApiResource.Namespaces, null, "team");
        await Eventually(async () =>
        {
            foreach (var r in ApiResources.All.Where(r => r.Namespaced))
                if ((await Api.ListAsync(r, "team")).Items.Count > 0) return false;
            try { await Api.GetAsync(ApiResource.Namespaces, null, "team"); return false; }
            catch (KubeApiException e) when (e.IsNotFound) { return true; }
        }, "namespace team gone and empty");
    }

    [Fact]
    public async Task A_crash_injected_into_one_controller_restarts_only_that_controller_which_then_resyncs()
    {
        var manager = await fixture.Node.System.ActorSelection($"/user/{AkkaKubeNames.Actors.ControllerManager}/{AkkaKubeNames.Actors.ControllerManager}")
            .ResolveOne(TimeSpan.FromSeconds(10)).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : null);
        var proxy = manager ?? await fixture.Node.System.ActorSelection($"/user/{AkkaKubeNames.Actors.ControllerManager}-proxy").ResolveOne(TimeSpan.FromSeconds(10));
        ControllerManagerProtocol.Status before = null!;
        await Eventually(async () =>
        {
            before = await proxy.Ask<ControllerManagerProtocol.Status>(new ControllerManagerProtocol.GetStatus(), TimeSpan.FromSeconds(5));
            return before.Starts.Count == 6; // the five it tests and serviceaccount (pods need their "default" account)
        }, "all controllers started");
        var accepted = await proxy.Ask<ControllerManagerProtocol.CrashAccepted>(new ControllerManagerProtocol.CrashController(ControllerNames.ReplicaSet), TimeSpan.FromSeconds(5));
        Assert.True(accepted.Found);
        ControllerManagerProtocol.Status after = null!;
        await Eventually(async () =>
        {
            after = await proxy.Ask<ControllerManagerProtocol.Status>(new ControllerManagerProtocol.GetStatus(), TimeSpan.FromSeconds(5));
            return after.Starts[ControllerNames.ReplicaSet] == before.Starts[ControllerNames.ReplicaSet] + 1;
        }, "replicaset controller restarted");
        foreach (var name in new[] { ControllerNames.Deployment, ControllerNames.GarbageCollector, ControllerNames.Namespace, ControllerNames.EndpointSlice })
            Assert.Equal(before.Starts[name], after.Starts[name]);
        // The restarted controller re-listed and still does its job.
        await Api.CreateAsync(ApiResource.Deployments, "default", Deployment("after-crash", 2, "nginx:1"));
        await Eventually(async () => (await Pods("after-crash")).Count == 2, "pods created after the crash");
    }
}
