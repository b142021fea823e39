using System.Text.Json.Nodes;

namespace AkkaKube.Actors.ApiServer.Registry.Core;

/// <summary>
/// A pod's quality-of-service class (Kubernetes' GetPodQOS), from the cpu and memory of its containers and init
/// containers (ephemeral containers have no resources): BestEffort when none sets a request or limit, Guaranteed when
/// every container limits both and each request equals its limit (requests are defaulted from limits before this),
/// Burstable otherwise. The apiserver sets it on create and the kubelet reports it in every status.
/// </summary>
public static class PodQos
{
    private static readonly string[] Compute = ["cpu", "memory"];

    public static string Classify(JsonObject? spec)
    {
        var any = false;
        var guaranteed = true;
        foreach (var list in new[] { "containers", "initContainers" })
            foreach (var container in (spec?[list] as JsonArray ?? []).OfType<JsonObject>())
            {
                var requests = container["resources"]?["requests"] as JsonObject;
                var limits = container["resources"]?["limits"] as JsonObject;
                foreach (var resource in Compute)
                {
                    var request = Positive(requests?[resource]);
                    var limit = Positive(limits?[resource]);
                    if (request is not null || limit is not null) any = true;
                    if (limit is null || (request is not null && request != limit)) guaranteed = false;
                }
            }
        return !any ? "BestEffort" : guaranteed ? "Guaranteed" : "Burstable";
    }

    /// <summary>Only a quantity above zero counts (Kubernetes ignores zero requests and limits here).</summary>
    private static decimal? Positive(JsonNode? quantity) =>
        ResourceRequirements.Parse(quantity, out _) is { } v && v > 0 ? v : null;
}
