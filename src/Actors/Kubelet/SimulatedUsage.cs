using System.Text.Json.Nodes;
using k8s.Models;

namespace AkkaKube.Actors.Kubelet;

/// <summary>
/// Resource usage a hollow kubelet reports to the metrics API (kubectl top), simulated since no process runs:
/// each container of a running pod uses its requests (its limits when it has no request; 1m CPU and 1 MiB when it
/// has neither), and the node uses the sum of its pods. Computed on demand, so it costs nothing between asks.
/// </summary>
public static class SimulatedUsage
{
    public const long DefaultCpuNanoCores = 1_000_000;        // 1m
    public const long DefaultMemoryBytes = 1024 * 1024;       // 1Mi

    public static KubeletProtocol.NodeMetrics For(string nodeName, IEnumerable<JsonObject> pods, DateTimeOffset now, double windowSeconds)
    {
        var podMetrics = new List<KubeletProtocol.PodMetrics>();
        long cpu = 0, memory = 0;
        foreach (var pod in pods)
        {
            var meta = pod["metadata"] as JsonObject;
            var containers = new List<KubeletProtocol.ContainerMetrics>();
            foreach (var c in (pod["spec"]?["containers"] as JsonArray ?? []).OfType<JsonObject>())
            {
                var resources = c["resources"] as JsonObject;
                var podCpu = Quantity(resources, "cpu") is { } q ? (long)(q * 1_000_000_000m) : DefaultCpuNanoCores;
                var podMemory = Quantity(resources, "memory") is { } m ? (long)m : DefaultMemoryBytes;
                containers.Add(new KubeletProtocol.ContainerMetrics(c["name"]?.GetValue<string>() ?? "", podCpu, podMemory));
                cpu += podCpu;
                memory += podMemory;
            }
            podMetrics.Add(new KubeletProtocol.PodMetrics(meta?["namespace"]?.GetValue<string>() ?? "default", meta?["name"]?.GetValue<string>() ?? "",
                meta?["uid"]?.GetValue<string>() ?? "", now, windowSeconds, containers));
        }
        return new KubeletProtocol.NodeMetrics(nodeName, now, windowSeconds, cpu, memory, podMetrics);
    }

    /// <summary>requests[name], else limits[name], as a number (cores or bytes); null when neither is a valid quantity.</summary>
    private static decimal? Quantity(JsonObject? resources, string name)
    {
        foreach (var section in new[] { "requests", "limits" })
        {
            if (resources?[section]?[name] is not JsonValue v) continue;
            try
            {
                return new ResourceQuantity(v.ToString()).ToDecimal();
            }
            catch (Exception e) when (e is FormatException or ArgumentException or OverflowException) { }
        }
        return null;
    }
}
