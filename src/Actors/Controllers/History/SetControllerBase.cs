using System.Text.Json.Nodes;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Controllers.ReplicaSet;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Controllers.History;

/// <summary>
/// What the StatefulSet and DaemonSet controllers share: their pods and ControllerRevisions found through the shared
/// informers' owner-uid index, and the
/// execution of a <see cref="SetPlan"/> under <see cref="Expectations"/> — a plan's pod creates and deletes must be seen
/// by the pod watch before the next decision is made, so a lagging cache never creates a pod twice nor deletes one
/// twice. A controller restart or singleton hand-over re-lists first, so it starts from the store's truth.
/// </summary>
public abstract class SetControllerBase : ControllerBase
{
    private readonly Expectations _expectations;
    private readonly string _kind;
    protected readonly Func<DateTime> Now;

    protected SetControllerBase(IKubeApi api, ControllerSettings settings, Func<DateTime>? now, string kind) : base(api, settings)
    {
        Now = now ?? (() => DateTime.UtcNow);
        _expectations = new Expectations(settings.ExpectationsTimeout, Now);
        _kind = kind;
    }

    /// <summary>The set resource (StatefulSets or DaemonSets).</summary>
    protected abstract ApiResource Owners { get; }

    protected abstract string CreatedMessage(JsonObject set, string pod);
    protected abstract string DeletedMessage(JsonObject set, string pod);

    private static bool Owned(ApiResource resource) => resource == ApiResource.Pods || resource == ApiResource.ControllerRevisions;

    /// <summary>"namespace/name" of the set of this kind controlling the object, or null.</summary>
    private string? OwnerKey(JsonObject obj)
    {
        var r = ControllerRef(obj);
        return r is not null && Str(r["kind"]) == _kind ? $"{NamespaceOf(obj)}/{Str(r["name"])}" : null;
    }

    /// <summary>The pods or revisions the set controls (through the informer's owner-uid index).</summary>
    protected List<JsonObject> OwnedBy(ApiResource resource, JsonObject set)
    {
        var uid = UidOf(set);
        return StoreOf(resource).By(InformerIndex.OwnerUid, uid)
            .Where(o => NamespaceOf(o) == NamespaceOf(set) && ControllerRef(o) is { } r && Str(r["uid"]) == uid && Str(r["kind"]) == _kind)
            .ToList();
    }

    protected void EnqueueAll()
    {
        foreach (var key in CacheOf(Owners).Keys) Enqueue(key);
    }

    protected override void OnSynced(ApiResource resource, bool first)
    {
        if (resource == Owners) EnqueueAll();
    }

    protected override void OnAdded(ApiResource resource, string key, JsonObject obj)
    {
        if (resource == Owners) { Enqueue(key); return; }
        if (!Owned(resource) || OwnerKey(obj) is not { } set) return;
        if (resource == ApiResource.Pods) _expectations.CreationObserved(set);
        Enqueue(set);
    }

    protected override void OnUpdated(ApiResource resource, string key, JsonObject old, JsonObject obj)
    {
        if (resource == Owners) { Enqueue(key); return; }
        if (!Owned(resource)) return;
        if (OwnerKey(old) is { } before) Enqueue(before);
        if (OwnerKey(obj) is not { } set) return;
        // A pod that starts terminating counts as deleted for expectations (as Kubernetes does).
        if (resource == ApiResource.Pods && IsDeleting(obj) && !IsDeleting(old)) _expectations.DeletionObserved(set);
        Enqueue(set);
    }

    protected override void OnDeleted(ApiResource resource, string key, JsonObject lastKnown)
    {
        if (resource == Owners) { _expectations.Delete(key); return; }
        if (!Owned(resource) || OwnerKey(lastKnown) is not { } set) return;
        if (resource == ApiResource.Pods && !IsDeleting(lastKnown)) _expectations.DeletionObserved(set);
        Enqueue(set);
    }

    /// <summary>False while the last plan's creates/deletes are not all observed (the cache cannot be trusted yet).</summary>
    protected bool Trusted(string key) => _expectations.Satisfied(key);

    /// <summary>Runs the plan's steps in order (planned on the actor thread, run outside it).</summary>
    protected ReconcileAction? Execute(string key, JsonObject set, SetPlan plan)
    {
        if (plan.Steps.Count == 0) return plan.RequeueAfter is null ? null : _ => Task.FromResult(plan.RequeueAfter);
        if (plan.Creates > 0 || plan.Deletes > 0) _expectations.Expect(key, plan.Creates, plan.Deletes);
        var ns = NamespaceOf(set);
        return async api =>
        {
            var creates = plan.Creates;
            var deletes = plan.Deletes;
            try
            {
                foreach (var step in plan.Steps)
                {
                    switch (step)
                    {
                        case SetStep.CreateRevision c:
                            await RevisionWriter.CreateAsync(api, Owners, set, c.Revision);
                            break;
                        case SetStep.UpdateRevision u:
                            await api.UpdateAsync(ApiResource.ControllerRevisions, ns, u.Revision);
                            break;
                        case SetStep.DeleteRevision d:
                            await RevisionWriter.DeleteAsync(api, ns, d.Name, d.Uid);
                            break;
                        case SetStep.CreatePod c:
                            creates--;
                            await CreatePod(api, key, set, c.Pod);
                            break;
                        case SetStep.DeletePod d:
                            deletes--;
                            await DeletePod(api, key, set, d);
                            break;
                        case SetStep.UpdateStatus s:
                            await RevisionWriter.PatchStatusAsync(api, Owners, set, s.Status);
                            break;
                        default:
                            await ExecuteOther(api, set, step);
                            break;
                    }
                }
            }
            catch
            {
                // Steps never tried will never be observed.
                _expectations.Lower(key, creates, deletes);
                throw;
            }
            return plan.RequeueAfter;
        };
    }

    /// <summary>Steps only one kind plans (the StatefulSet's claims).</summary>
    protected virtual Task ExecuteOther(IKubeApi api, JsonObject set, SetStep step) =>
        throw new InvalidOperationException($"{Name} cannot execute {step.GetType().Name}");

    private async Task CreatePod(IKubeApi api, string key, JsonObject set, JsonObject pod)
    {
        try
        {
            var created = await api.CreateAsync(ApiResource.Pods, NamespaceOf(set), pod);
            Record(set, EventRecorderProtocol.Normal, "SuccessfulCreate", CreatedMessage(set, NameOf(created)));
        }
        catch (KubeApiException e) when (e.IsAlreadyExists && NameOf(pod).Length > 0)
        {
            // A fixed name made by an earlier pass (or the previous leader) that the cache had not shown yet: no second pod.
            _expectations.CreationObserved(key);
        }
        catch (Exception e)
        {
            _expectations.CreationObserved(key);
            Record(set, EventRecorderProtocol.Warning, "FailedCreate", $"Error creating: {e.Message}");
            throw;
        }
    }

    private async Task DeletePod(IKubeApi api, string key, JsonObject set, SetStep.DeletePod d)
    {
        try
        {
            await api.DeleteAsync(ApiResource.Pods, NamespaceOf(set), d.Name, new DeleteOptions(PreconditionUid: d.Uid));
            Record(set, EventRecorderProtocol.Normal, "SuccessfulDelete", DeletedMessage(set, d.Name));
        }
        catch (KubeApiException e) when (e.IsNotFound || e.IsConflict)
        {
            _expectations.DeletionObserved(key);
        }
        catch
        {
            _expectations.DeletionObserved(key);
            throw;
        }
    }
}
