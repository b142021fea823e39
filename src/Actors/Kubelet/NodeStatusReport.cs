using System.Text.Json.Nodes;

namespace AkkaKube.Actors.Kubelet;

/// <summary>
/// When the kubelet posts its Node status, as Kubernetes' kubelet does since the node Lease became the heartbeat:
/// every node-status-interval it computes the status, and posts it only when it differs from the stored Node's
/// (heartbeat times aside) or when node-status-report-frequency has passed since the last post (Kubernetes:
/// nodeStatusReportFrequency = 5 min). A status that someone else changed (the node lifecycle controller's
/// Ready=Unknown) therefore differs and is posted again at the next interval.
/// </summary>
public static class NodeStatusReport
{
    /// <summary>True when a post is due regardless of content: never posted, or the report period has passed.</summary>
    public static bool PeriodElapsed(DateTimeOffset? lastPosted, DateTimeOffset now, TimeSpan reportFrequency) =>
        lastPosted is not { } last || now - last >= reportFrequency;

    /// <summary>
    /// True when a merge patch of <paramref name="desired"/> would change <paramref name="stored"/> in more than
    /// heartbeat times: only the fields the kubelet posts are compared (other writers' fields are left alone by the patch).
    /// </summary>
    public static bool Differs(JsonObject? stored, JsonObject desired)
    {
        if (stored is null) return true;
        foreach (var (key, value) in desired)
        {
            var current = stored[key];
            if (key == "conditions")
            {
                if (!JsonNode.DeepEquals(WithoutHeartbeats(current), WithoutHeartbeats(value))) return true;
            }
            else if (!JsonNode.DeepEquals(current, value)) return true;
        }
        return false;
    }

    private static JsonNode? WithoutHeartbeats(JsonNode? conditions)
    {
        if (conditions is not JsonArray a) return conditions;
        var copy = new JsonArray();
        foreach (var c in a)
        {
            var clone = c?.DeepClone();
            if (clone is JsonObject o) o.Remove("lastHeartbeatTime");
            copy.Add(clone);
        }
        return copy;
    }
}
