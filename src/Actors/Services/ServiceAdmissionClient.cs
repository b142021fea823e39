using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Store;

namespace AkkaKube.Actors.Services;

/// <summary>
/// What the apiserver pipeline calls for a Service create/update (not for status): asks the
/// service-allocator singleton; when no allocator is registered on this node (tests, a pipeline without
/// the singleton) it allocates against a fresh list of the stored services instead (correct for one
/// apiserver, racy between several — the singleton is the cluster's answer).
/// </summary>
public static class ServiceAdmissionClient
{
    public static async Task<ServiceAdmission> AdmitAsync(
        IActorRef? allocator, IActorRef store, JsonObject service, JsonObject? old, bool dryRun, TimeSpan timeout, CancellationToken ct)
    {
        if (allocator is not null)
        {
            var reply = await allocator.Ask<object>(new ServiceAllocatorProtocol.AdmitService(service.ToJsonString(), old?.ToJsonString(), dryRun), timeout, ct);
            return reply switch
            {
                ServiceAllocatorProtocol.ServiceAdmitted ok => new ServiceAdmission(JsonNode.Parse(ok.ServiceJson)!.AsObject(), []),
                ServiceAllocatorProtocol.ServiceRejected no => new ServiceAdmission(null, no.Errors),
                _ => throw new InvalidOperationException($"unexpected reply from the service allocator: {reply.GetType().Name}"),
            };
        }
        var list = await store.Ask<object>(new StoreProtocol.ListObjects("services", null, null, null), timeout, ct);
        var allocations = new ServiceAllocations(ServiceNetworkSettings.Default);
        if (list is StoreProtocol.ListReply l)
            allocations.Reset(l.Items.Select(i => JsonNode.Parse(i)).OfType<JsonObject>());
        return allocations.Admit(service, old, dryRun);
    }
}
