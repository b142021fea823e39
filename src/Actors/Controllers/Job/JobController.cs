using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Controllers.ReplicaSet;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Controllers.Job;

/// <summary>
/// Runs Jobs (batch/v1) as kube-controller-manager's job controller: pods from the template up to parallelism until
/// completions succeed, back-off and backoffLimit, activeDeadlineSeconds, Indexed completion, podFailurePolicy,
/// suspend, ttlSecondsAfterFinished and status/conditions — decided by <see cref="JobLogic"/>. Pods carry the
/// tracking finalizer until counted; <see cref="Expectations"/> keep a lagging pod watch from creating twice.
/// </summary>
public sealed class JobController : ControllerBase
{
    private const string OrphanPrefix = "orphan:";
    private readonly Expectations _expectations;
    private readonly JobSettings _jobSettings;
    private readonly Func<DateTime> _now;
    private readonly Dictionary<string, string> _jobKeyByUid = new(StringComparer.Ordinal);

    public JobController(IKubeApi api, ControllerSettings settings, JobSettings jobSettings, Func<DateTime>? now) : base(api, settings)
    {
        _jobSettings = jobSettings;
        _now = now ?? (() => DateTime.UtcNow);
        _expectations = new Expectations(settings.ExpectationsTimeout, _now);
    }

    public static Props Props(IKubeApi api, ControllerSettings settings, JobSettings jobSettings, Func<DateTime>? now = null) =>
        Akka.Actor.Props.Create(() => new JobController(api, settings, jobSettings, now));

    protected override string Name => ControllerNames.Job;
    protected override string Component => "job-controller";
    protected override IEnumerable<ApiResource> Watched => [ApiResource.Jobs, ApiResource.Pods];

    private static string? OwnerUid(JsonObject pod) =>
        ControllerRef(pod) is { } r && Str(r["kind"]) == "Job" && Str(r["apiVersion"]) == "batch/v1" ? Str(r["uid"]) : null;

    /// <summary>The Job to reconcile for a pod event; a pod still holding the tracking finalizer for a Job that is gone is queued itself.</summary>
    private void EnqueueFor(string podKey, JsonObject pod)
    {
        if (OwnerUid(pod) is not { Length: > 0 } uid) return;
        if (_jobKeyByUid.TryGetValue(uid, out var job)) Enqueue(job);
        else if (JobLogic.HasFinalizer(pod)) Enqueue(OrphanPrefix + podKey);
    }

    protected override void OnSynced(ApiResource resource, bool first)
    {
        if (resource == ApiResource.Jobs)
        {
            _jobKeyByUid.Clear();
            foreach (var (key, job) in CacheOf(ApiResource.Jobs))
            {
                _jobKeyByUid[UidOf(job)] = key;
                Enqueue(key);
            }
        }
        if (AllSynced)
            foreach (var (key, pod) in CacheOf(ApiResource.Pods))
                if (JobLogic.HasFinalizer(pod) && OwnerUid(pod) is { } uid && !_jobKeyByUid.ContainsKey(uid)) Enqueue(OrphanPrefix + key);
    }

    protected override void OnAdded(ApiResource resource, string key, JsonObject obj)
    {
        if (resource == ApiResource.Jobs)
        {
            _jobKeyByUid[UidOf(obj)] = key;
            Enqueue(key);
            return;
        }
        if (OwnerUid(obj) is { } uid && _jobKeyByUid.TryGetValue(uid, out var job)) _expectations.CreationObserved(job);
        EnqueueFor(key, obj);
    }

    protected override void OnUpdated(ApiResource resource, string key, JsonObject old, JsonObject obj)
    {
        if (resource == ApiResource.Jobs)
        {
            _jobKeyByUid[UidOf(obj)] = key;
            Enqueue(key);
            return;
        }
        EnqueueFor(key, obj);
    }

    protected override void OnDeleted(ApiResource resource, string key, JsonObject lastKnown)
    {
        if (resource == ApiResource.Jobs)
        {
            _jobKeyByUid.Remove(UidOf(lastKnown));
            _expectations.Delete(key);
            // its pods may still hold the tracking finalizer: release them
            var pods = StoreOf(ApiResource.Pods);
            foreach (var podKey in pods.KeysBy(InformerIndex.OwnerUid, UidOf(lastKnown)))
                if (pods.TryGet(podKey, out var pod) && JobLogic.HasFinalizer(pod)) Enqueue(OrphanPrefix + podKey);
            return;
        }
        EnqueueFor(key, lastKnown);
    }

    protected override ReconcileAction? Plan(string key)
    {
        if (key.StartsWith(OrphanPrefix, StringComparison.Ordinal)) return PlanOrphan(key[OrphanPrefix.Length..]);
        if (!CacheOf(ApiResource.Jobs).TryGetValue(key, out var job)) return null;
        var ns = NamespaceOf(job);
        var uid = UidOf(job);
        // the shared pod informer's owner index holds every owner; the Job's pods are those it controls
        var pods = StoreOf(ApiResource.Pods).By(InformerIndex.OwnerUid, uid).Where(p => OwnerUid(p) == uid && NamespaceOf(p) == ns).ToList();
        if (IsDeleting(job))
        {
            // A Job being deleted creates nothing; its pods must not keep it (foreground) or themselves alive.
            var held = pods.Where(JobLogic.HasFinalizer).ToList();
            return held.Count == 0 ? null : async api =>
            {
                foreach (var p in held) await ReleaseFinalizer(api, p);
                return null;
            };
        }
        var plan = JobLogic.Decide(job, pods, _now(), _jobSettings.Backoff, _expectations.Satisfied(key));
        if (plan.Create.Count > 0) _expectations.Expect(key, plan.Create.Count, 0);
        if (plan.Status is null && plan.Create.Count == 0 && plan.Delete.Count == 0 && plan.ReleaseFinalizer.Count == 0 && !plan.DeleteJob && plan.Events.Count == 0)
            return plan.RequeueAfter is { } later ? _ => Task.FromResult<TimeSpan?>(later) : null;
        return async api =>
        {
            // Creations are expected from here on: whatever fails before they are attempted must lower them, or the
            // Job would wait out the expectations timeout (5 min) before creating again.
            var creating = false;
            try
            {
                if (plan.Status is { } status)
                {
                    var fresh = job.DeepClone().AsObject();
                    fresh["status"] = status.DeepClone();
                    try
                    {
                        await api.UpdateAsync(ApiResource.Jobs, ns, fresh, subresource: "status");
                    }
                    catch (KubeApiException e) when (e.IsNotFound)
                    {
                        return null;
                    }
                }
                foreach (var (type, reason, message) in plan.Events) Record(job, type, reason, message);
                // Only now that the uids are stored in uncountedTerminatedPods may the pods go.
                foreach (var p in plan.ReleaseFinalizer) await ReleaseFinalizer(api, p);
                foreach (var p in plan.Delete)
                {
                    try
                    {
                        await api.DeleteAsync(ApiResource.Pods, ns, NameOf(p), new DeleteOptions(PreconditionUid: UidOf(p)));
                        Record(job, EventRecorderProtocol.Normal, "SuccessfulDelete", $"Deleted pod: {NameOf(p)}");
                    }
                    catch (KubeApiException e) when (e.IsNotFound) { }
                }
                creating = true;
                if (plan.Create.Count > 0)
                    await SlowStart.CreateAsync(api, ApiResource.Pods, ns, plan.Create, Settings.MaxBurst,
                        pod => Record(job, EventRecorderProtocol.Normal, "SuccessfulCreate", $"Created pod: {NameOf(pod)}"),
                        (abandoned, error) =>
                        {
                            _expectations.Lower(key, abandoned, 0);
                            Record(job, EventRecorderProtocol.Warning, "FailedCreate", $"Error creating: {error.Message}");
                        });
            }
            finally
            {
                if (!creating) _expectations.Lower(key, plan.Create.Count, 0);
            }
            if (plan.DeleteJob)
            {
                try
                {
                    await api.DeleteAsync(ApiResource.Jobs, ns, NameOf(job), new DeleteOptions("Foreground", PreconditionUid: UidOf(job)));
                }
                catch (KubeApiException e) when (e.IsNotFound || e.IsConflict) { }
            }
            return plan.RequeueAfter;
        };
    }

    private ReconcileAction? PlanOrphan(string podKey)
    {
        if (!CacheOf(ApiResource.Pods).TryGetValue(podKey, out var pod) || !JobLogic.HasFinalizer(pod)) return null;
        if (OwnerUid(pod) is { } uid && _jobKeyByUid.ContainsKey(uid)) return null; // its Job reconciles it
        return async api =>
        {
            await ReleaseFinalizer(api, pod);
            return null;
        };
    }

    /// <summary>
    /// Removes the tracking finalizer with a JSON patch that tests it is still at that position (no lost update). A 422
    /// says the pod's finalizers are no longer what the cache shows (another controller instance, before a hand-over,
    /// already released it): the pod's update event brings the fresh view and requeues the Job.
    /// </summary>
    private static async Task ReleaseFinalizer(IKubeApi api, JsonObject pod)
    {
        var finalizers = Meta(pod)["finalizers"] as JsonArray;
        var i = finalizers?.Select(Str).ToList().IndexOf(JobLogic.TrackingFinalizer) ?? -1;
        if (i < 0) return;
        var patch = $$"""[{"op":"test","path":"/metadata/finalizers/{{i}}","value":"{{JobLogic.TrackingFinalizer}}"},{"op":"remove","path":"/metadata/finalizers/{{i}}"}]""";
        try
        {
            await api.PatchAsync(ApiResource.Pods, NamespaceOf(pod), NameOf(pod), PatchType.Json, patch);
        }
        catch (KubeApiException e) when (e.IsNotFound || e.Code == 422) { }
    }
}
