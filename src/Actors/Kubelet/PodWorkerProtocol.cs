using System.Text.Json.Nodes;
using Akka.Actor;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Runtime;

namespace AkkaKube.Actors.Kubelet;

/// <summary>What every pod worker of one kubelet shares.</summary>
public sealed record PodWorkerContext(
    IKubeApi Api,
    IContainerRuntime Runtime,
    KubeletSettings Settings,
    string NodeName,
    string HostIp,
    string DataDirectory,
    IActorRef Events);

/// <summary>Local messages between the kubelet's pod manager and a pod worker.</summary>
public static class PodWorkerProtocol
{
    /// <summary>The pod object changed (from the informer).</summary>
    public sealed record PodUpdated(JsonObject Pod);

    /// <summary>The pod is gone from the API or no longer bound here: stop everything, do not touch the object.</summary>
    public sealed record PodRemoved(long? GracePeriodSeconds);

    /// <summary>To the pod manager: the pod reached Succeeded/Failed and runs nothing any more (its IP may be reused).</summary>
    public sealed record PodFinished(string Uid);

    /// <summary>To the pod manager from a restarted worker: send me the latest pod (<see cref="PodUpdated"/>, then <see cref="PodRemoved"/> if it was removed).</summary>
    public sealed record WantPod(string Uid);
}

/// <summary>
/// The lifecycle states of a pod worker, as logged on every transition and described in docs/kubelet.md:
/// <list type="bullet">
/// <item><see cref="Adopting"/>: restarted after a crash; waits for the latest pod object and its containers' new actors,
/// which re-adopt what the runtime still runs.</item>
/// <item><see cref="Preparing"/>: a runtime with pod sandboxes (cri) creates the pod's sandbox; its IP becomes the pod IP.</item>
/// <item><see cref="Initializing"/>: init containers run one by one, each to success.</item>
/// <item><see cref="Running"/>: the containers run and are restarted by restartPolicy (CrashLoopBackOff).</item>
/// <item><see cref="Completed"/>: the pod is Succeeded or Failed; nothing runs; the worker waits for the deletion.</item>
/// <item><see cref="Terminating"/>: graceful stop (SIGTERM, SIGKILL after the grace period) after a deletion or a move.</item>
/// <item><see cref="Terminated"/>: nothing runs; the pod object is being removed (when it was deleted), then the worker stops.</item>
/// </list>
/// </summary>
public enum PodWorkerState { Adopting, Preparing, Initializing, Running, Completed, Terminating, Terminated }
