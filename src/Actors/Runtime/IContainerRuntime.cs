namespace AkkaKube.Actors.Runtime;

/// <summary>
/// What the kubelet needs from a container runtime (the CRI of AkkaKube): start a container, signal it,
/// learn when it exits, run an exec probe, measure it, and list what it runs. Two implementations:
/// <see cref="ProcessRuntime"/> (real OS processes) and <see cref="SimulatedRuntime"/> (hollow, no process).
/// <para>
/// The runtime, not the kubelet, is the record of what runs (as containerd is for the real kubelet): a container
/// outlives the actor that started it, and a restarted pod worker or container actor re-adopts it from
/// <see cref="List"/> by pod UID and container name instead of starting another.
/// </para>
/// </summary>
public interface IContainerRuntime
{
    /// <summary>"process" or "simulated".</summary>
    string Name { get; }

    /// <summary>
    /// Starts a container. Throws <see cref="ContainerStartException"/> with a Kubernetes waiting reason
    /// (ErrImagePull, CreateContainerError, RunContainerError) when it cannot; never leaves a process behind then.
    /// </summary>
    Task<IRunningContainer> StartAsync(ContainerLaunch launch, CancellationToken ct = default);

    /// <summary>Runs a command "inside" a running container (exec probe); returns its exit code and output.</summary>
    Task<ExecResult> ExecAsync(IRunningContainer container, IReadOnlyList<string> command, TimeSpan timeout, CancellationToken ct = default);

    /// <summary>The containers started and not yet ended, of one pod (by UID) or of all pods when null (the kubelet's relist).</summary>
    IReadOnlyList<IRunningContainer> List(string? podUid = null);

    /// <summary>
    /// Starts a command in a running container with its stdio as streams (kubectl exec, cp). A runtime that cannot
    /// throws <see cref="StreamingUnavailableException"/>, which the apiserver answers as a 400 Status.
    /// </summary>
    Task<IExecProcess> OpenExecAsync(IRunningContainer container, ExecSpec spec, CancellationToken ct = default) =>
        throw new StreamingUnavailableException($"the {Name} runtime cannot run commands in containers");

    /// <summary>
    /// Attaches to a running container's own process (kubectl attach): its output from now on and, with
    /// <see cref="AttachSpec.Stdin"/>, its stdin. Disposing detaches (the container keeps running; a stdinOnce container's
    /// stdin is closed); <see cref="IExecProcess.Exited"/> completes with 0 when the container ends.
    /// </summary>
    Task<IExecProcess> OpenAttachAsync(IRunningContainer container, AttachSpec spec, CancellationToken ct = default) =>
        throw new StreamingUnavailableException($"the {Name} runtime cannot attach to containers");
}

/// <summary>What an attach asks for: stdin (only for a container with stdin), stdout, stderr (not with a terminal), the container's terminal.</summary>
public sealed record AttachSpec(bool Stdin, bool Stdout, bool Stderr, bool Tty);

/// <summary>A command to run in a container: stdin wanted, a terminal wanted (stdout and stderr then merged).</summary>
public sealed record ExecSpec(IReadOnlyList<string> Command, bool Stdin, bool Tty);

/// <summary>A command running in a container (an exec session): its stdio and its exit code.</summary>
public interface IExecProcess : IDisposable
{
    /// <summary>The command's stdin; null when not asked for (the command then reads end of file).</summary>
    Stream? Stdin { get; }
    Stream Stdout { get; }
    /// <summary>Null with a terminal (its output is all on <see cref="Stdout"/>).</summary>
    Stream? Stderr { get; }
    /// <summary>The exit code (128 + signal when killed); completes once, never faults.</summary>
    Task<int> Exited { get; }
    /// <summary>Kills the command and everything it started. Idempotent.</summary>
    void Kill();
}

/// <summary>The runtime cannot stream to this container (or the command cannot start): a 400 Status with the message.</summary>
public sealed class StreamingUnavailableException(string message) : Exception(message);

/// <summary>Everything needed to start one container instance (the kubelet resolves env, IP and paths).</summary>
public sealed record ContainerLaunch
{
    public required string Namespace { get; init; }
    public required string PodName { get; init; }
    public required string PodUid { get; init; }
    public required string NodeName { get; init; }
    public required string ContainerName { get; init; }
    public required string Image { get; init; }
    /// <summary>The container's command (entrypoint override); empty = from the image table.</summary>
    public IReadOnlyList<string> Command { get; init; } = [];
    public IReadOnlyList<string> Args { get; init; } = [];
    public string? WorkingDir { get; init; }
    public IReadOnlyList<KeyValuePair<string, string>> Env { get; init; } = [];
    /// <summary>The pod's volume directories at their mountPaths: bind-mounted by runtimes with mounts (cri); the process runtime has env variables instead.</summary>
    public IReadOnlyList<VolumeMount> Mounts { get; init; } = [];
    public required string PodIp { get; init; }
    /// <summary>First declared containerPort (or null); built-in images listen on it.</summary>
    public int? Port { get; init; }
    /// <summary>Restart number of this instance (0 for the first); names the log file and the container ID.</summary>
    public int Attempt { get; init; }
    /// <summary>Log file of this instance; null = no log file (simulated).</summary>
    public string? LogPath { get; init; }
    /// <summary>resources.limits.memory in bytes (null: none); enforced by runtimes with cgroups (cri).</summary>
    public long? MemoryLimitBytes { get; init; }
    /// <summary>resources.limits.cpu in millicores (null: none): the CFS quota under cri.</summary>
    public long? CpuLimitMillis { get; init; }
    /// <summary>resources.requests.cpu in millicores (null: none): the CPU shares under cri.</summary>
    public long? CpuRequestMillis { get; init; }
    /// <summary>stdin: true — the container's stdin stays open for attach (else it reads end of file).</summary>
    public bool Stdin { get; init; }
    /// <summary>stdinOnce: the stdin is closed when the first attach session that used it ends.</summary>
    public bool StdinOnce { get; init; }
    /// <summary>tty: true — the container runs on a terminal (cri; the process runtime has pipes).</summary>
    public bool Tty { get; init; }
    /// <summary>An ephemeral container's target (kubectl debug --target): cri joins that container's process namespace.</summary>
    public string? TargetContainerId { get; init; }
    /// <summary>The effective securityContext (pod defaults, container overrides); applied by runtimes that isolate (cri).</summary>
    public ContainerSecurity? Security { get; init; }
    /// <summary>imagePullPolicy: Always, IfNotPresent or Never (runtimes that pull images: cri).</summary>
    public string PullPolicy { get; init; } = "IfNotPresent";
    /// <summary>Credentials from the pod's imagePullSecrets that match the image's registry, most specific first; tried in turn.</summary>
    public IReadOnlyList<RegistryCredential> PullCredentials { get; init; } = [];

    public string ContainerId => $"akkakube://{NodeName}/{PodUid}/{ContainerName}/{Attempt}";
}

/// <summary>
/// A container's effective security settings, as the kubelet computes them from the pod's and the container's
/// securityContext (Kubelet/SecurityContexts): the CRI LinuxContainerSecurityContext.
/// </summary>
public sealed record ContainerSecurity
{
    public long? RunAsUser { get; init; }
    public long? RunAsGroup { get; init; }
    public bool ReadOnlyRootFilesystem { get; init; }
    public bool Privileged { get; init; }
    /// <summary>allowPrivilegeEscalation: false sets no_new_privs.</summary>
    public bool NoNewPrivileges { get; init; }
    public IReadOnlyList<string> AddCapabilities { get; init; } = [];
    public IReadOnlyList<string> DropCapabilities { get; init; } = [];
    /// <summary>The pod's supplementalGroups, then its fsGroup.</summary>
    public IReadOnlyList<long> SupplementalGroups { get; init; } = [];
    /// <summary>runAsNonRoot (the container's, else the pod's): the runtime refuses a container whose user would be root.</summary>
    public bool RunAsNonRoot { get; init; }
    /// <summary>seccompProfile.type (the container's, else the pod's): RuntimeDefault, Unconfined, Localhost; null = not set (unconfined, the kubelet's default).</summary>
    public string? SeccompProfile { get; init; }
}

/// <summary>One registry login from a dockerconfigjson secret (CRI AuthConfig); never logged.</summary>
public sealed record RegistryCredential(string Server, string? Username, string? Password, string? Auth)
{
    public override string ToString() => $"credential for {Server}";
}

/// <summary>A directory of this node seen by a container at <paramref name="ContainerPath"/>.</summary>
public sealed record VolumeMount(string HostPath, string ContainerPath, bool ReadOnly);

/// <summary>How a container instance ended.</summary>
public sealed record ContainerExit(int ExitCode, string Reason, DateTimeOffset FinishedAt, string? Signal = null);

public sealed record ExecResult(int ExitCode, string Output);

/// <summary>CPU (cumulative core-seconds) and memory (resident bytes) of a running container.</summary>
public sealed record ResourceUsage(double CpuSeconds, long MemoryBytes, DateTimeOffset At);

/// <summary>A started container instance.</summary>
public interface IRunningContainer
{
    /// <summary>What it was started with: names its pod, container and attempt (for re-adoption and metrics).</summary>
    ContainerLaunch Launch { get; }
    string ContainerId { get; }
    /// <summary>OS process ID (process group and session leader), null when simulated.</summary>
    int? Pid { get; }
    DateTimeOffset StartedAt { get; }
    string ImageId { get; }
    /// <summary>Completes once, when the container has ended (never faults).</summary>
    Task<ContainerExit> Exited { get; }
    /// <summary>Graceful stop request (SIGTERM to the container's main process).</summary>
    void Terminate();
    /// <summary>Immediate stop (SIGKILL to the container's whole process group). Idempotent.</summary>
    void Kill();
    ResourceUsage? Usage();
}

/// <summary>A container could not be started; Reason is the Kubernetes waiting reason.</summary>
public sealed class ContainerStartException(string reason, string message) : Exception(message)
{
    public string Reason { get; } = reason;

    public const string ErrImagePull = "ErrImagePull";
    /// <summary>imagePullPolicy Never and the image is not on the node.</summary>
    public const string ErrImageNeverPull = "ErrImageNeverPull";
    public const string CreateContainerError = "CreateContainerError";
    public const string RunContainerError = "RunContainerError";
    public const string CreateContainerConfigError = "CreateContainerConfigError";
}

/// <summary>
/// The kubelet's checks of a container's security settings against what the runtime will really run (Kubernetes'
/// verifyRunAsNonRoot, with its words): runAsNonRoot refuses a container whose user would be root.
/// </summary>
public static class SecurityChecks
{
    /// <summary>
    /// Why the container may not start under runAsNonRoot, or null. <paramref name="uid"/>/<paramref name="username"/>
    /// are the user it would run as when runAsUser is not set (cri: the image's; process: the node process's uid); neither
    /// known means root, as the kubelet treats an image without a user.
    /// </summary>
    public static string? RunAsNonRootViolation(ContainerLaunch launch, long? uid, string? username)
    {
        if (launch.Security is not { RunAsNonRoot: true } security) return null;
        var pod = $"\"{launch.PodName}_{launch.Namespace}({launch.PodUid})\"";
        if (security.RunAsUser is { } runAs)
            return runAs == 0 ? $"container's runAsUser breaks non-root policy (pod: {pod}, container: {launch.ContainerName})" : null;
        if (uid is 0 || (uid is null && string.IsNullOrEmpty(username)))
            return $"container has runAsNonRoot and image will run as root (pod: {pod}, container: {launch.ContainerName})";
        if (uid is null)
            return $"container has runAsNonRoot and image has non-numeric user ({username}), cannot verify user is non-root (pod: {pod}, container: {launch.ContainerName})";
        return null;
    }
}

/// <summary>
/// The containers one runtime runs (thread-safe): added when started, removed when their exit is known. The runtime's
/// own table, read by the kubelet through <see cref="IContainerRuntime.List"/>; nothing else writes it.
/// </summary>
public sealed class RunningContainers
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, IRunningContainer> _byId = new(StringComparer.Ordinal);

    /// <summary>Records <paramref name="container"/> until its <see cref="IRunningContainer.Exited"/> completes.</summary>
    public void Track(IRunningContainer container)
    {
        _byId[container.ContainerId] = container;
        container.Exited.ContinueWith(_ => _byId.TryRemove(new KeyValuePair<string, IRunningContainer>(container.ContainerId, container)),
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    public IReadOnlyList<IRunningContainer> Of(string? podUid) =>
        _byId.Values.Where(c => podUid is null || c.Launch.PodUid == podUid).ToList();
}

/// <summary>
/// The pod-level request of a runtime whose pods live in sandboxes (<see cref="IPodSandboxRuntime"/>): with the pod's
/// hostname and resolver configuration (the kubelet's, see Kubelet/PodDns), which the runtime writes into the sandbox.
/// </summary>
public sealed record PodSandboxRequest(string Namespace, string Name, string Uid, string NodeName, string LogDirectory, int Attempt = 0,
    string? Hostname = null, Dns.ResolvConf? Dns = null);

/// <summary>A pod's sandbox: its runtime ID and the IP of its network namespace.</summary>
public sealed record PodSandbox(string Id, string Ip);

/// <summary>
/// A runtime that runs a pod's containers inside a sandbox it creates first (CRI: the pause container holding the pod's
/// network namespace, its IP from CNI). The pod worker creates it before any container (state Preparing), and removes
/// it when the pod ends; the pod IP is the sandbox's, not one the kubelet allocates.
/// </summary>
public interface IPodSandboxRuntime
{
    Task<PodSandbox> RunPodSandboxAsync(PodSandboxRequest pod, CancellationToken ct = default);

    /// <summary>The sandbox of a pod this runtime created (a restarted pod worker finds its IP here), or null.</summary>
    PodSandbox? SandboxOf(string podUid);

    /// <summary>The UIDs of the pods with a sandbox (created or re-adopted after a kubelet restart).</summary>
    IReadOnlyCollection<string> PodUids { get; }

    /// <summary>Stops and removes the pod's sandbox with every container in it; nothing when it has none.</summary>
    Task RemovePodSandboxAsync(string podUid, CancellationToken ct = default);

    /// <summary>
    /// The pod's set-up ended before any container reached the runtime (its image could not be pulled): the pod gives
    /// back its place among the pods being set up at once, as a failed start does.
    /// </summary>
    void SetUpFailed(string podUid);
}
