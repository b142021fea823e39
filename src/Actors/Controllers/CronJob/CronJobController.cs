using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Controllers.CronJob;

/// <summary>
/// Creates Jobs from CronJobs on schedule as kube-controller-manager's cronjob controller (v2): each key is re-queued for
/// its next scheduled time; concurrencyPolicy, startingDeadlineSeconds, suspend and history limits are decided by
/// <see cref="CronJobLogic"/>. Job names are deterministic per scheduled time, so after a restart or hand-over a
/// create answered 409 AlreadyExists means that run exists: no run is ever started twice.
/// </summary>
public sealed class CronJobController : ControllerBase
{
    private readonly Func<DateTime> _now;

    public CronJobController(IKubeApi api, ControllerSettings settings, Func<DateTime>? now) : base(api, settings) =>
        _now = now ?? (() => DateTime.UtcNow);

    public static Props Props(IKubeApi api, ControllerSettings settings, Func<DateTime>? now = null) =>
        Akka.Actor.Props.Create(() => new CronJobController(api, settings, now));

    protected override string Name => ControllerNames.CronJob;
    protected override string Component => "cronjob-controller";
    protected override IEnumerable<ApiResource> Watched => [ApiResource.CronJobs, ApiResource.Jobs];

    private static JsonObject? OwnerRefOf(JsonObject job) => ControllerRef(job) is { } r && Str(r["kind"]) == "CronJob" ? r : null;

    private void EnqueueOwner(JsonObject job)
    {
        if (OwnerRefOf(job) is { } r) Enqueue($"{NamespaceOf(job)}/{Str(r["name"])}");
    }

    protected override void OnSynced(ApiResource resource, bool first)
    {
        if (resource == ApiResource.CronJobs)
            foreach (var key in CacheOf(ApiResource.CronJobs).Keys) Enqueue(key);
    }

    protected override void OnAdded(ApiResource resource, string key, JsonObject obj)
    {
        if (resource == ApiResource.CronJobs) { Enqueue(key); return; }
        EnqueueOwner(obj);
    }

    protected override void OnUpdated(ApiResource resource, string key, JsonObject old, JsonObject obj)
    {
        if (resource == ApiResource.CronJobs) { Enqueue(key); return; }
                EnqueueOwner(obj);
    }

    protected override void OnDeleted(ApiResource resource, string key, JsonObject lastKnown)
    {
        if (resource == ApiResource.CronJobs) return;
        EnqueueOwner(lastKnown);
    }

    protected override ReconcileAction? Plan(string key)
    {
        if (!CacheOf(ApiResource.CronJobs).TryGetValue(key, out var cronJob)) return null;
        var ns = NamespaceOf(cronJob);
        var uid = UidOf(cronJob);
        var jobs = StoreOf(ApiResource.Jobs).By(InformerIndex.OwnerUid, uid).Where(j => Str(OwnerRefOf(j)?["uid"]) == uid && NamespaceOf(j) == ns).ToList();
        var plan = CronJobLogic.Decide(cronJob, jobs, _now());
        if (plan.Status is null && plan.Create is null && plan.Delete.Count == 0 && plan.Unverified.Count == 0 && plan.Events.Count == 0)
            return plan.RequeueAfter is { } later ? _ => Task.FromResult<TimeSpan?>(later) : null;
        return async api =>
        {
            foreach (var (type, reason, message) in plan.Events) Record(cronJob, type, reason, message);
            if (plan.Unverified.Count > 0)
            {
                // The cache lacks Jobs the status lists: ask the apiserver which are really gone before acting on either.
                var gone = new List<string>();
                foreach (var name in plan.Unverified)
                {
                    try { await api.GetAsync(ApiResource.Jobs, ns, name); }
                    catch (KubeApiException e) when (e.IsNotFound) { gone.Add(name); }
                }
                if (gone.Count == 0) return TimeSpan.FromSeconds(1); // the watch is behind: look again shortly
                var fresh = cronJob.DeepClone().AsObject();
                var status = fresh["status"] as JsonObject ?? new JsonObject();
                var active = (status["active"] as JsonArray)?.OfType<JsonObject>().Where(r => !gone.Contains(Str(r["name"]) ?? "")).Select(r => (JsonNode)r.DeepClone()).ToArray() ?? [];
                if (active.Length > 0) status["active"] = new JsonArray(active); else status.Remove("active");
                fresh["status"] = status;
                await UpdateStatus(api, ns, fresh);
                return TimeSpan.Zero;
            }
            foreach (var job in plan.Delete)
            {
                try
                {
                    await api.DeleteAsync(ApiResource.Jobs, ns, NameOf(job), new DeleteOptions("Background", PreconditionUid: UidOf(job)));
                }
                catch (KubeApiException e) when (e.IsNotFound || e.IsConflict) { }
            }
            var newStatus = plan.Status?.DeepClone().AsObject();
            if (plan.Create is { } template)
            {
                JsonObject created;
                try
                {
                    created = await api.CreateAsync(ApiResource.Jobs, ns, template.DeepClone().AsObject());
                    Record(cronJob, EventRecorderProtocol.Normal, "SuccessfulCreate", $"Created job {NameOf(created)}");
                }
                catch (KubeApiException e) when (e.IsAlreadyExists)
                {
                    // created before (a previous attempt or the previous leader): that run exists
                    created = await api.GetAsync(ApiResource.Jobs, ns, NameOf(template));
                }
                catch (KubeApiException e)
                {
                    Record(cronJob, EventRecorderProtocol.Warning, "FailedCreate", $"Error creating job: {e.Message}");
                    throw;
                }
                if (newStatus is not null && Str(ControllerRef(created)?["uid"]) == UidOf(cronJob) && !CronJobLogic.IsFinished(created))
                {
                    var active = newStatus["active"] as JsonArray ?? [];
                    if (!active.OfType<JsonObject>().Any(r => Str(r["name"]) == NameOf(created))) active.Add(CronJobLogic.JobRef(created));
                    newStatus["active"] = active;
                }
            }
            if (newStatus is not null)
            {
                var fresh = cronJob.DeepClone().AsObject();
                fresh["status"] = newStatus;
                await UpdateStatus(api, ns, fresh);
            }
            return plan.RequeueAfter;
        };
    }

    private static async Task UpdateStatus(IKubeApi api, string? ns, JsonObject cronJob)
    {
        try
        {
            await api.UpdateAsync(ApiResource.CronJobs, ns, cronJob, subresource: "status");
        }
        catch (KubeApiException e) when (e.IsNotFound) { }
    }
}
