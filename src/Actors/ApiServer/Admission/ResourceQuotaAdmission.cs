using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Controllers.ResourceQuota;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.Store;

namespace AkkaKube.Actors.ApiServer.Admission;

/// <summary>
/// ResourceQuota (the last validating plugin): a new object is refused with 403 Forbidden when it would take a quota
/// of its namespace past a hard limit ("exceeded quota: …"), when a quota limits what it uses but has no usage
/// computed yet ("status unknown for quota: …"), or when a compute quota needs requests/limits a container does not
/// declare ("failed quota: …: must specify …"). Otherwise the usage is charged to every matching quota's
/// status.used with a conditional (resourceVersion) update, retried on conflict, so concurrent creates cannot both
/// take the last unit; the quota controller later recomputes usage from the objects (e.g. after deletes).
/// </summary>
public sealed class ResourceQuotaAdmission : IValidatingAdmissionPlugin
{
    public const int MaxChargeAttempts = 5;

    public string Name => "ResourceQuota";

    public async Task ValidateAsync(AdmissionAttributes a, JsonObject obj)
    {
        if (a.Namespace is null || !a.Resource.Namespaced) return;
        var requested = QuotaLogic.Usage(a.Resource, obj);
        for (var attempt = 1; ; attempt++)
        {
            var quotas = await a.ListAsync(ApiResource.ResourceQuotas, a.Namespace);
            var charges = new List<JsonObject>();
            foreach (var quota in quotas.OrderBy(q => Meta.Name(q), StringComparer.Ordinal))
            {
                var hard = quota["spec"]?["hard"] as JsonObject;
                if (hard is null || !hard.Any(h => requested.ContainsKey(h.Key))) continue;
                if (a.Resource == ApiResource.Pods && QuotaLogic.MissingDeclarations(obj, hard.Select(h => h.Key)) is { Count: > 0 } missing)
                    throw a.Forbidden($"failed quota: {Meta.Name(quota)}: must specify {string.Join("; ", missing)}");
                if (QuotaLogic.Unknown(quota, requested) is { Count: > 0 } unknown)
                    throw a.Forbidden($"status unknown for quota: {Meta.Name(quota)}, resources: {string.Join(",", unknown)}");
                if (QuotaLogic.Exceeded(quota, requested) is { Count: > 0 } exceeded)
                    throw a.Forbidden(QuotaLogic.ExceededMessage(quota, requested, exceeded));
                var charged = (JsonObject)quota.DeepClone();
                Meta.Obj(charged, "status")["used"] = QuotaLogic.Charge(quota, requested);
                charges.Add(charged);
            }
            if (charges.Count == 0 || a.Context.DryRun) return;
            if (await ChargeAll(a, charges)) return;
            if (attempt >= MaxChargeAttempts)
                throw new ApiException(409, "Conflict", $"Operation cannot be fulfilled on resourcequotas: the quotas of namespace {a.Namespace} changed concurrently; please try again");
        }
    }

    /// <summary>Writes each charged quota conditionally; false when one changed meanwhile (the caller re-reads and retries).</summary>
    private static async Task<bool> ChargeAll(AdmissionAttributes a, List<JsonObject> charges)
    {
        foreach (var quota in charges)
        {
            var reply = await a.Context.Store.Ask<object>(new StoreProtocol.UpdateObject(ApiResource.ResourceQuotas.Partition, quota.ToJsonString()),
                a.Context.Settings.StoreTimeout, a.Context.Ct);
            if (reply is StoreProtocol.StoreFailure { Code: 409 }) return false;
            if (reply is StoreProtocol.StoreFailure f) throw new ApiException(f.Code, f.Reason, f.Message);
        }
        return true;
    }
}
