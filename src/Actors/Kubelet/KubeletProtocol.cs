using AkkaKube.Actors.Serialization;

namespace AkkaKube.Actors.Kubelet;

/// <summary>
/// Messages the kubelet actor (/user/kubelet on a worker node) answers over Akka remoting:
/// container logs (streamed) and resource usage (for the metrics API).
/// </summary>
public static class KubeletProtocol
{
    /// <summary>
    /// Stream a container's log to the sender as <see cref="LogChunk"/>s ended by one <see cref="LogEnd"/>.
    /// Container null = the pod's only container. Follow keeps streaming until the container instance ends
    /// or the sender stops. TailLines/SinceSeconds filter; Previous = the instance before the current one.
    /// </summary>
    public sealed record GetLogs(
        string Namespace, string PodName, string? Container = null, bool Follow = false, long? TailLines = null,
        bool Timestamps = false, bool Previous = false, long? SinceSeconds = null) : IAkkaKubeMessage;

    public sealed record LogChunk(string Text) : IAkkaKubeMessage;

    /// <summary>End of a log stream; Code is 200 on success, else an HTTP code (400, 404) with Reason and Message.</summary>
    public sealed record LogEnd(int Code, string Reason, string Message) : IAkkaKubeMessage
    {
        public static readonly LogEnd Ok = new(200, "", "");
    }

    /// <summary>Ask the resource usage of this node and its pods (reply: <see cref="NodeMetrics"/>).</summary>
    public sealed record GetMetrics : IAkkaKubeMessage;

    public sealed record ContainerMetrics(string Name, long CpuNanoCores, long MemoryBytes) : IAkkaKubeMessage;

    public sealed record PodMetrics(string Namespace, string Name, string Uid, DateTimeOffset Timestamp, double WindowSeconds, IReadOnlyList<ContainerMetrics> Containers) : IAkkaKubeMessage;

    public sealed record NodeMetrics(string NodeName, DateTimeOffset Timestamp, double WindowSeconds, long CpuNanoCores, long MemoryBytes, IReadOnlyList<PodMetrics> Pods) : IAkkaKubeMessage;
}
