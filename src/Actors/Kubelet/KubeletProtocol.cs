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

    /// <summary>
    /// Start a command in a pod's container (kubectl exec). The kubelet answers the sender with <see cref="StreamStarted"/>
    /// from the session actor (then <see cref="StreamData"/> on channels 1 and 2, one <see cref="StreamExit"/>) or with
    /// <see cref="StreamRefused"/>. Container null = the pod's only container.
    /// </summary>
    public sealed record StartExec(string Namespace, string PodName, string? Container, IReadOnlyList<string> Command,
        bool Stdin, bool Stdout, bool Stderr, bool Tty) : IAkkaKubeMessage, IPodStreamRequest;

    /// <summary>
    /// Attach to a container's own process (kubectl attach): its output from now on, and its stdin when the container
    /// has one (stdin: true). Answered as <see cref="StartExec"/>; the session ends when the sender stops (detach: the
    /// container keeps running; with stdinOnce its stdin is closed) or the container ends (<see cref="StreamExit"/> 0).
    /// </summary>
    public sealed record StartAttach(string Namespace, string PodName, string? Container, bool Stdin, bool Stdout, bool Stderr, bool Tty)
        : IAkkaKubeMessage, IPodStreamRequest;

    /// <summary>
    /// Open a TCP connection to the pod's IP on Port (kubectl port-forward, one per forwarded connection): answered as
    /// <see cref="StartExec"/>; channel 0 carries bytes to the pod, 1 bytes from it; <see cref="StreamCloseStdin"/>
    /// half-closes the connection.
    /// </summary>
    public sealed record StartPortForward(string Namespace, string PodName, int Port) : IAkkaKubeMessage, IPodStreamRequest;

    /// <summary>A stream session on one pod (routed by the kubelet to the pod's worker).</summary>
    public interface IPodStreamRequest
    {
        string Namespace { get; }
        string PodName { get; }
    }

    /// <summary>The session runs; its sender is the session actor, the peer of every later stream message.</summary>
    public sealed record StreamStarted : IAkkaKubeMessage
    {
        public static readonly StreamStarted Instance = new();
    }

    /// <summary>No session: an HTTP code (400, 404, 503) with Kubernetes' reason and message.</summary>
    public sealed record StreamRefused(int Code, string Reason, string Message) : IAkkaKubeMessage;

    /// <summary>
    /// Bytes on a remote-command channel (0 stdin, 1 stdout, 2 stderr). Each is acknowledged with one
    /// <see cref="StreamAck"/> once written on; a side keeps at most <see cref="StreamWindow"/> unacknowledged.
    /// </summary>
    public sealed record StreamData(int Channel, byte[] Data) : IAkkaKubeMessage;

    public sealed record StreamAck : IAkkaKubeMessage
    {
        public static readonly StreamAck Instance = new();
    }

    /// <summary>The client ended its stdin (v5's close signal): the command reads end of file.</summary>
    public sealed record StreamCloseStdin : IAkkaKubeMessage
    {
        public static readonly StreamCloseStdin Instance = new();
    }

    /// <summary>The command ended (after all its output was sent): ExitCode, or Error when it failed to run.</summary>
    public sealed record StreamExit(int ExitCode, string? Error = null) : IAkkaKubeMessage;

    /// <summary>Unacknowledged <see cref="StreamData"/> messages a side may have in flight (32 KiB each at most).</summary>
    public const int StreamWindow = 8;

    /// <summary>Ask the resource usage of this node and its pods (reply: <see cref="NodeMetrics"/>).</summary>
    public sealed record GetMetrics : IAkkaKubeMessage;

    public sealed record ContainerMetrics(string Name, long CpuNanoCores, long MemoryBytes) : IAkkaKubeMessage;

    public sealed record PodMetrics(string Namespace, string Name, string Uid, DateTimeOffset Timestamp, double WindowSeconds, IReadOnlyList<ContainerMetrics> Containers) : IAkkaKubeMessage;

    public sealed record NodeMetrics(string NodeName, DateTimeOffset Timestamp, double WindowSeconds, long CpuNanoCores, long MemoryBytes, IReadOnlyList<PodMetrics> Pods) : IAkkaKubeMessage;
}
