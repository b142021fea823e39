using System.Collections.Concurrent;
using System.Net.Sockets;
using AkkaKube.Actors.Runtime.Cri.V1;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;

namespace AkkaKube.Actors.Runtime.Cri;

/// <summary>
/// The `cri` runtime: pods as CRI pod sandboxes and containers, through the Kubernetes Container Runtime Interface v1
/// (RuntimeService + ImageService) over gRPC on a unix socket — containerd here, CRI-O the same way. A pod gets a sandbox
/// first (its network namespace and IP from the runtime's CNI configuration); each container is created in it from its
/// image with the pod's command, args, env, working directory and CPU/memory limits, and writes its log where the
/// kubelet reads logs (the sandbox's log directory is the pod's log directory). What runs is relisted every
/// <see cref="RelistInterval"/> (the kubelet's PLEG): a container seen exited completes its <see cref="IRunningContainer.Exited"/>.
/// </summary>
public sealed class CriRuntime : IContainerRuntime, IPodSandboxRuntime, IImageService, IDisposable
{
    /// <summary>Labels on every sandbox and container, as the Kubernetes kubelet sets them (CRI clients filter on these).</summary>
    public static class Labels
    {
        public const string PodName = "io.kubernetes.pod.name";
        public const string PodNamespace = "io.kubernetes.pod.namespace";
        public const string PodUid = "io.kubernetes.pod.uid";
        public const string ContainerName = "io.kubernetes.container.name";
        public const string Node = "akkakube.io/node";
    }

    public static readonly TimeSpan RelistInterval = TimeSpan.FromMilliseconds(500);
    /// <summary>
    /// The kubelet's --runtime-request-timeout (2 min). A shorter deadline gives up on sandboxes the runtime is still
    /// creating under load: the retry then fails to reserve the same sandbox name until the first one ends, and each
    /// abandoned attempt costs the runtime another network namespace and IP (measured: 30 s deadlines turned 100 pods
    /// started at once on 2 cores into a retry storm).
    /// </summary>
    private static readonly TimeSpan CallTimeout = TimeSpan.FromMinutes(2);
    private readonly GrpcChannel _channel;
    private readonly RuntimeService.RuntimeServiceClient _runtime;
    private readonly ImageService.ImageServiceClient _images;
    private readonly string _nodeName;
    private readonly string _cgroupParent;
    private readonly RunningContainers _running = new();
    private readonly ConcurrentDictionary<string, CriContainer> _watched = new(StringComparer.Ordinal);
    /// <summary>Per pod UID; Config is null for a sandbox re-adopted by <see cref="RecoverAsync"/> until the pod worker asks for it again.</summary>
    private readonly ConcurrentDictionary<string, (PodSandbox Sandbox, PodSandboxConfig? Config)> _sandboxes = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    /// <summary>Bounds the pods being set up in the runtime at once (null: unbounded, as the kubelet).</summary>
    private readonly SemaphoreSlim? _starts;
    /// <summary>The slot each pod holds from its RunPodSandbox until its first container started (or it failed, or went).</summary>
    private readonly ConcurrentDictionary<string, IDisposable> _podSlots = new(StringComparer.Ordinal);

    /// <param name="parallelStarts">
    /// &gt; 0: at most this many pods between RunPodSandbox and their first started container at once, so a burst of
    /// pods is set up first come, first served instead of every sandbox and container sharing the runtime at once.
    /// </param>
    /// <param name="endpoint">unix:///path/to/socket, as the kubelet's --container-runtime-endpoint.</param>
    /// <param name="cgroupParent">cgroup under which each pod gets its own (pod&lt;uid&gt;), so nodes on one machine stay apart.</param>
    public CriRuntime(string endpoint, string nodeName, string cgroupParent, int parallelStarts = 0)
    {
        _starts = parallelStarts > 0 ? new SemaphoreSlim(parallelStarts, parallelStarts) : null;
        var socket = SocketPath(endpoint);
        _nodeName = nodeName;
        _cgroupParent = cgroupParent.TrimEnd('/');
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), ct);
                    return new NetworkStream(s, ownsSocket: true);
                }
                catch
                {
                    s.Dispose();
                    throw;
                }
            },
        };
        // The authority is not used on a unix socket; http:// = h2c, as containerd serves it.
        _channel = GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
        var calls = _channel.Intercept(new CriTimingInterceptor());
        _runtime = new RuntimeService.RuntimeServiceClient(calls);
        _images = new ImageService.ImageServiceClient(calls);
        _ = Task.Run(RelistLoop);
    }

    public string Name => "cri";

    /// <summary>The socket path of a unix:// endpoint; anything else is refused with one line.</summary>
    public static string SocketPath(string endpoint)
    {
        if (!endpoint.StartsWith("unix://", StringComparison.Ordinal) || endpoint.Length <= "unix://".Length)
            throw new ArgumentException($"container runtime endpoint '{endpoint}' must be unix:///path/to/socket");
        return endpoint["unix://".Length..];
    }

    private static CallOptions Call(CancellationToken ct = default) => new(deadline: DateTime.UtcNow + CallTimeout, cancellationToken: ct);

    /// <summary>The runtime's name and version (CRI Version): "containerd 1.6.20 (CRI v1)".</summary>
    public async Task<string> VersionAsync(CancellationToken ct = default)
    {
        var v = await _runtime.VersionAsync(new VersionRequest { Version = "v1" }, Call(ct));
        return $"{v.RuntimeName} {v.RuntimeVersion} (CRI {v.RuntimeApiVersion})";
    }

    public IReadOnlyList<IRunningContainer> List(string? podUid = null) => _running.Of(podUid);

    // ---- sandboxes ----

    public async Task<PodSandbox> RunPodSandboxAsync(PodSandboxRequest pod, CancellationToken ct = default)
    {
        var config = SandboxConfig(pod);
        if (_sandboxes.TryGetValue(pod.Uid, out var known))
        {
            // Re-adopted from the runtime after a kubelet restart (RecoverAsync): the same sandbox, its config rebuilt from the pod.
            if (known.Config is null) _sandboxes[pod.Uid] = (known.Sandbox, config);
            return known.Sandbox;
        }
        config.Metadata.Attempt = await RemoveStaleSandboxesAsync(pod.Uid, ct);
        Directory.CreateDirectory(config.LogDirectory);
        var slot = await StartSlotAsync(ct);
        PodSandbox sandbox;
        try
        {
            var id = (await _runtime.RunPodSandboxAsync(new RunPodSandboxRequest { Config = config }, Call(ct))).PodSandboxId;
            sandbox = new PodSandbox(id, await SandboxIpAsync(id, ct)
                ?? throw new InvalidOperationException($"pod sandbox {id} has no IP (is the CNI configuration of the runtime in place?)"));
        }
        catch
        {
            slot.Dispose();
            throw;
        }
        if (_podSlots.TryRemove(pod.Uid, out var earlier)) earlier.Dispose();
        _podSlots[pod.Uid] = slot;
        // a pod that never starts a container (a config error, a pull that waits) gives its slot up after a while
        _ = Task.Delay(SlotHoldLimit, _stop.Token).ContinueWith(_ => slot.Dispose(), TaskScheduler.Default);
        _sandboxes[pod.Uid] = (sandbox, config);
        return sandbox;
    }

    /// <summary>
    /// The pod's earlier sandboxes still in the runtime (not ready: their containers died with a restarted containerd or
    /// machine) are removed, and the new one gets the next attempt number, as the kubelet does (the runtime reserves
    /// a sandbox's name, which includes its attempt). Returns that attempt.
    /// </summary>
    private async Task<uint> RemoveStaleSandboxesAsync(string podUid, CancellationToken ct)
    {
        var request = new ListPodSandboxRequest { Filter = new PodSandboxFilter() };
        request.Filter.LabelSelector[Labels.PodUid] = podUid;
        request.Filter.LabelSelector[Labels.Node] = _nodeName;
        var stale = (await _runtime.ListPodSandboxAsync(request, Call(ct))).Items;
        foreach (var old in stale)
        {
            try
            {
                await _runtime.StopPodSandboxAsync(new StopPodSandboxRequest { PodSandboxId = old.Id }, Call(ct));
                await _runtime.RemovePodSandboxAsync(new RemovePodSandboxRequest { PodSandboxId = old.Id }, Call(ct));
            }
            catch (RpcException) { } // the attempt number below keeps the new name apart anyway
        }
        return stale.Count == 0 ? 0 : stale.Max(o => o.Metadata?.Attempt ?? 0) + 1;
    }

    private async Task<string?> SandboxIpAsync(string id, CancellationToken ct) =>
        (await _runtime.PodSandboxStatusAsync(new PodSandboxStatusRequest { PodSandboxId = id }, Call(ct))).Status.Network?.Ip is { Length: > 0 } ip ? ip : null;

    /// <summary>The sandbox's config, a function of the pod alone (so a restarted kubelet rebuilds the same one).</summary>
    private PodSandboxConfig SandboxConfig(PodSandboxRequest pod)
    {
        var config = new PodSandboxConfig
        {
            Metadata = new PodSandboxMetadata { Name = pod.Name, Namespace = pod.Namespace, Uid = pod.Uid, Attempt = (uint)pod.Attempt },
            Hostname = pod.Hostname ?? (pod.Name.Length <= 63 ? pod.Name : pod.Name[..63]),
            LogDirectory = Path.GetFullPath(pod.LogDirectory), // containerd resolves paths itself
            Linux = new LinuxPodSandboxConfig { CgroupParent = $"{_cgroupParent}/pod{pod.Uid}" },
        };
        // The runtime writes the sandbox's resolv.conf from this (containerd: /etc/resolv.conf of every container).
        if (pod.Dns is { } dns)
        {
            config.DnsConfig = new DNSConfig();
            config.DnsConfig.Servers.AddRange(dns.Nameservers);
            config.DnsConfig.Searches.AddRange(dns.Searches);
            config.DnsConfig.Options.AddRange(dns.Options);
        }
        config.Labels.Add(PodLabels(pod.Namespace, pod.Name, pod.Uid));
        return config;
    }

    /// <summary>
    /// After a restart of the node process (the kubelet): takes back what the runtime still runs for this node, as a
    /// restarted Kubernetes kubelet does — every ready sandbox (ListPodSandbox by the node label) and every running
    /// container in one (ListContainers by the node label, named by the pod UID and container name labels set at
    /// creation). <see cref="List"/> then returns them with their container IDs and attempts, so the pod workers re-adopt
    /// them instead of starting new ones. Returns the number of containers taken back.
    /// </summary>
    public async Task<int> RecoverAsync(CancellationToken ct = default)
    {
        var sandboxes = new ListPodSandboxRequest { Filter = new PodSandboxFilter { State = new PodSandboxStateValue { State = PodSandboxState.SandboxReady } } };
        sandboxes.Filter.LabelSelector[Labels.Node] = _nodeName;
        foreach (var s in (await _runtime.ListPodSandboxAsync(sandboxes, Call(ct))).Items)
            if (s.Labels.TryGetValue(Labels.PodUid, out var uid) && !_sandboxes.ContainsKey(uid) && await SandboxIpAsync(s.Id, ct) is { } ip)
                _sandboxes.TryAdd(uid, (new PodSandbox(s.Id, ip), null));
        var containers = new ListContainersRequest { Filter = new ContainerFilter { State = new ContainerStateValue { State = ContainerState.ContainerRunning } } };
        containers.Filter.LabelSelector[Labels.Node] = _nodeName;
        var recovered = 0;
        foreach (var c in (await _runtime.ListContainersAsync(containers, Call(ct))).Containers)
        {
            if (_watched.ContainsKey(c.Id)
                || !c.Labels.TryGetValue(Labels.PodUid, out var uid) || !c.Labels.TryGetValue(Labels.ContainerName, out var name)
                || !_sandboxes.TryGetValue(uid, out var sandbox) || sandbox.Sandbox.Id != c.PodSandboxId)
                continue;
            var status = (await _runtime.ContainerStatusAsync(new ContainerStatusRequest { ContainerId = c.Id }, Call(ct))).Status;
            var launch = new ContainerLaunch
            {
                Namespace = c.Labels.GetValueOrDefault(Labels.PodNamespace, ""),
                PodName = c.Labels.GetValueOrDefault(Labels.PodName, ""),
                PodUid = uid,
                NodeName = _nodeName,
                ContainerName = name,
                Image = c.Image?.Image ?? "",
                PodIp = sandbox.Sandbox.Ip,
                Attempt = (int)(c.Metadata?.Attempt ?? 0),
                LogPath = status.LogPath is { Length: > 0 } log ? log : null,
            };
            var container = new CriContainer(this, launch, c.Id, FromNanos(status.StartedAt) ?? DateTimeOffset.UtcNow, c.ImageRef);
            _watched[c.Id] = container;
            _running.Track(container);
            recovered++;
        }
        return recovered;
    }

    public PodSandbox? SandboxOf(string podUid) => _sandboxes.TryGetValue(podUid, out var s) ? s.Sandbox : null;

    public IReadOnlyCollection<string> PodUids => _sandboxes.Keys.ToList();

    public async Task RemovePodSandboxAsync(string podUid, CancellationToken ct = default)
    {
        ReleasePodSlot(podUid);
        if (!_sandboxes.TryRemove(podUid, out var s)) return;
        foreach (var c in _watched.Values.Where(c => c.Launch.PodUid == podUid)) c.Kill();
        await _runtime.StopPodSandboxAsync(new StopPodSandboxRequest { PodSandboxId = s.Sandbox.Id }, Call(ct));
        await _runtime.RemovePodSandboxAsync(new RemovePodSandboxRequest { PodSandboxId = s.Sandbox.Id }, Call(ct));
    }

    private Dictionary<string, string> PodLabels(string ns, string name, string uid) => new()
    {
        [Labels.PodName] = name, [Labels.PodNamespace] = ns, [Labels.PodUid] = uid, [Labels.Node] = _nodeName,
    };

    // ---- containers ----

    public async Task<IRunningContainer> StartAsync(ContainerLaunch launch, CancellationToken ct = default)
    {
        if (!_sandboxes.TryGetValue(launch.PodUid, out var sandbox) || sandbox.Config is null)
            throw new ContainerStartException(ContainerStartException.CreateContainerError, $"pod {launch.Namespace}/{launch.PodName} has no sandbox on this node");
        Image image;
        try { image = await PresentImageAsync(launch, ct); }
        catch
        {
            ReleasePodSlot(launch.PodUid);
            throw;
        }
        // the user the container would run as is the image's when runAsUser is not set (the kubelet asks ImageStatus too)
        var refusal = SecurityChecks.RunAsNonRootViolation(launch, image.Uid?.Value, image.Username)
                      ?? (launch.Security?.SeccompProfile is "Localhost"
                          ? "seccomp profile type Localhost is not supported by this kubelet (it has no seccomp profile directory); use RuntimeDefault or Unconfined"
                          : null);
        if (refusal is not null)
        {
            ReleasePodSlot(launch.PodUid);
            throw new ContainerStartException(ContainerStartException.CreateContainerConfigError, refusal);
        }
        var config = new ContainerConfig
        {
            Metadata = new ContainerMetadata { Name = launch.ContainerName, Attempt = (uint)launch.Attempt },
            Image = new ImageSpec { Image = image.Id },
            WorkingDir = launch.WorkingDir ?? "",
            // Relative to the sandbox's log directory: the same file the kubelet reads (ContainerLogPaths).
            LogPath = $"{launch.ContainerName}/{launch.Attempt}.log",
            Stdin = launch.Stdin,
            StdinOnce = launch.StdinOnce,
            Tty = launch.Tty,
            Linux = new LinuxContainerConfig { Resources = Resources(launch), SecurityContext = SecurityContext(launch.Security, image) },
        };
        if (launch.TargetContainerId is { Length: > 0 } target && CriId(target) is { } targetId)
        {
            // kubectl debug --target: the ephemeral container sees the target's processes (CRI NamespaceMode TARGET), as the kubelet asks
            config.Linux.SecurityContext ??= new LinuxContainerSecurityContext();
            config.Linux.SecurityContext.NamespaceOptions = new NamespaceOption { Pid = NamespaceMode.Target, TargetId = targetId };
        }
        config.Command.AddRange(launch.Command);
        config.Args.AddRange(launch.Args);
        config.Envs.AddRange(launch.Env.Select(e => new KeyValue { Key = e.Key, Value = e.Value }));
        config.Mounts.AddRange(launch.Mounts.Select(m => new Mount { HostPath = m.HostPath, ContainerPath = m.ContainerPath, Readonly = m.ReadOnly }));
        config.Labels.Add(PodLabels(launch.Namespace, launch.PodName, launch.PodUid));
        config.Labels[Labels.ContainerName] = launch.ContainerName;
        string id;
        try
        {
            id = (await _runtime.CreateContainerAsync(new CreateContainerRequest { PodSandboxId = sandbox.Sandbox.Id, Config = config, SandboxConfig = sandbox.Config }, Call(ct))).ContainerId;
        }
        catch (RpcException e)
        {
            ReleasePodSlot(launch.PodUid);
            throw new ContainerStartException(ContainerStartException.CreateContainerError, e.Status.Detail);
        }
        try
        {
            await _runtime.StartContainerAsync(new StartContainerRequest { ContainerId = id }, Call(ct));
        }
        catch (RpcException e)
        {
            ReleasePodSlot(launch.PodUid);
            await RemoveQuietlyAsync(id);
            throw new ContainerStartException(ContainerStartException.RunContainerError, e.Status.Detail);
        }
        ReleasePodSlot(launch.PodUid);
        var status = (await _runtime.ContainerStatusAsync(new ContainerStatusRequest { ContainerId = id }, Call(ct))).Status;
        var container = new CriContainer(this, launch, id, FromNanos(status.StartedAt) ?? DateTimeOffset.UtcNow, status.ImageRef is { Length: > 0 } r ? r : image.Id);
        _watched[id] = container;
        _running.Track(container);
        if (status.State == ContainerState.ContainerExited) container.Ended(status);
        return container;
    }

    /// <summary>A slot of <see cref="_starts"/> (released by Dispose, once); nothing to wait for when unbounded.</summary>
    private async Task<IDisposable> StartSlotAsync(CancellationToken ct)
    {
        if (_starts is null) return NoSlot.Instance;
        await _starts.WaitAsync(ct);
        return new Slot(_starts);
    }

    private static readonly TimeSpan SlotHoldLimit = TimeSpan.FromSeconds(30);

    public void SetUpFailed(string podUid) => ReleasePodSlot(podUid);

    private void ReleasePodSlot(string podUid)
    {
        if (_podSlots.TryRemove(podUid, out var slot)) slot.Dispose();
    }

    private sealed class NoSlot : IDisposable
    {
        public static readonly NoSlot Instance = new();
        public void Dispose() { }
    }

    private sealed class Slot(SemaphoreSlim semaphore) : IDisposable
    {
        private int _released;
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) semaphore.Release();
        }
    }

    /// <summary>The CRI ID in a status containerID (containerd://ID), or null for another runtime's.</summary>
    private static string? CriId(string containerId) =>
        containerId.StartsWith("containerd://", StringComparison.Ordinal) ? containerId["containerd://".Length..] : null;

    /// <summary>CFS shares from the CPU request, quota from the CPU limit (100 ms period), the memory limit: as the kubelet computes them.</summary>
    internal static LinuxContainerResources Resources(ContainerLaunch launch)
    {
        const long period = 100_000;
        var r = new LinuxContainerResources { CpuShares = launch.CpuRequestMillis is { } req ? Math.Max(2, req * 1024 / 1000) : 2 };
        if (launch.CpuLimitMillis is { } limit)
        {
            r.CpuPeriod = period;
            r.CpuQuota = Math.Max(1000, limit * period / 1000);
        }
        if (launch.MemoryLimitBytes is { } memory) r.MemoryLimitInBytes = memory;
        return r;
    }

    /// <summary>
    /// The CRI security context of a container (null: the runtime's defaults). A runAsGroup without runAsUser takes the
    /// image's user, as the kubelet does (CRI requires a user with a group).
    /// </summary>
    internal static LinuxContainerSecurityContext? SecurityContext(ContainerSecurity? security, Image image)
    {
        if (security is null) return null;
        var sc = new LinuxContainerSecurityContext
        {
            Privileged = security.Privileged, ReadonlyRootfs = security.ReadOnlyRootFilesystem, NoNewPrivs = security.NoNewPrivileges,
        };
        if (security.RunAsUser is { } uid) sc.RunAsUser = new Int64Value { Value = uid };
        else if (security.RunAsGroup is not null)
        {
            if (image.Uid is not null) sc.RunAsUser = new Int64Value { Value = image.Uid.Value };
            else if (image.Username is { Length: > 0 } user) sc.RunAsUsername = user;
            else sc.RunAsUser = new Int64Value { Value = 0 };
        }
        if (security.RunAsGroup is { } gid) sc.RunAsGroup = new Int64Value { Value = gid };
        sc.SupplementalGroups.AddRange(security.SupplementalGroups);
        // seccompProfile passed through as the kubelet does (unset: nothing sent, containerd runs it unconfined, the kubelet's default)
        if (security.SeccompProfile is "RuntimeDefault" or "Unconfined")
            sc.Seccomp = new SecurityProfile { ProfileType = security.SeccompProfile == "RuntimeDefault" ? SecurityProfile.Types.ProfileType.RuntimeDefault : SecurityProfile.Types.ProfileType.Unconfined };
        if (security.AddCapabilities.Count > 0 || security.DropCapabilities.Count > 0)
        {
            sc.Capabilities = new Capability();
            sc.Capabilities.AddCapabilities.AddRange(security.AddCapabilities);
            sc.Capabilities.DropCapabilities.AddRange(security.DropCapabilities);
        }
        return sc;
    }

    // ---- images (the policy is the kubelet's: Kubelet/ImageManager) ----

    public async Task<ImageInfo?> ImageStatusAsync(string image, CancellationToken ct = default)
    {
        try
        {
            var status = await _images.ImageStatusAsync(new ImageStatusRequest { Image = new ImageSpec { Image = image } }, Call(ct));
            return status.Image is { Id.Length: > 0 } present ? new ImageInfo(present.Id, present.Size) : null;
        }
        catch (RpcException e)
        {
            throw new ContainerStartException(ContainerStartException.ErrImagePull, $"failed to get the status of image \"{image}\": {e.Status.Detail}");
        }
    }

    public async Task<ImageInfo> PullImageAsync(string image, RegistryCredential? credential, CancellationToken ct = default)
    {
        var request = new PullImageRequest { Image = new ImageSpec { Image = image } };
        if (credential is not null)
            request.Auth = new AuthConfig { Username = credential.Username ?? "", Password = credential.Password ?? "", Auth = credential.Auth ?? "", ServerAddress = credential.Server };
        try
        {
            var pulled = (await _images.PullImageAsync(request, Call(ct))).ImageRef;
            return await ImageStatusAsync(pulled, ct) ?? new ImageInfo(pulled, 0);
        }
        catch (RpcException e)
        {
            throw new ImagePullException($"failed to pull and unpack image \"{image}\": {e.Status.Detail}");
        }
    }

    /// <summary>The image a container is created from: present on the node (the kubelet's image manager pulled it if it had to).</summary>
    private async Task<Image> PresentImageAsync(ContainerLaunch launch, CancellationToken ct)
    {
        ImageStatusResponse status;
        try { status = await _images.ImageStatusAsync(new ImageStatusRequest { Image = new ImageSpec { Image = launch.Image } }, Call(ct)); }
        catch (RpcException e)
        {
            throw new ContainerStartException(ContainerStartException.CreateContainerError, $"failed to get the status of image \"{launch.Image}\": {e.Status.Detail}");
        }
        return status.Image is { Id.Length: > 0 } present
            ? present
            : throw new ContainerStartException(ContainerStartException.ErrImagePull, $"image \"{launch.Image}\" is not present on the node");
    }

    public async Task<ExecResult> ExecAsync(IRunningContainer container, IReadOnlyList<string> command, TimeSpan timeout, CancellationToken ct = default)
    {
        if (container is not CriContainer c) return new ExecResult(126, "not a CRI container");
        var request = new ExecSyncRequest { ContainerId = c.Id, Timeout = Math.Max(1, (long)Math.Ceiling(timeout.TotalSeconds)) };
        request.Cmd.AddRange(command);
        try
        {
            var r = await _runtime.ExecSyncAsync(request, new CallOptions(deadline: DateTime.UtcNow + timeout + TimeSpan.FromSeconds(5), cancellationToken: ct));
            var text = r.Stdout.ToStringUtf8() + r.Stderr.ToStringUtf8();
            return new ExecResult(r.ExitCode, text.Length > 4096 ? text[..4096] : text);
        }
        catch (RpcException e)
        {
            return new ExecResult(-1, e.Status.Detail);
        }
    }

    /// <summary>
    /// kubectl exec/cp: CRI Exec answers a URL of the runtime's streaming server, which this node's kubelet then speaks
    /// to as a client (<see cref="CriStreamSession"/>) and relays like any exec session — the apiserver never reaches
    /// the runtime itself (its streaming server listens on the node's loopback).
    /// </summary>
    public async Task<IExecProcess> OpenExecAsync(IRunningContainer container, ExecSpec spec, CancellationToken ct = default)
    {
        if (container is not CriContainer c) throw new StreamingUnavailableException("not a CRI container");
        // CRI: a terminal merges stderr into stdout (tty and stderr together are refused)
        var request = new ExecRequest { ContainerId = c.Id, Tty = spec.Tty, Stdin = spec.Stdin, Stdout = true, Stderr = !spec.Tty };
        request.Cmd.AddRange(spec.Command);
        string url;
        try { url = (await _runtime.ExecAsync(request, Call(ct))).Url; }
        catch (RpcException e) { throw new StreamingUnavailableException(e.Status.Detail); }
        return await CriStreamSession.OpenAsync(url, spec.Stdin, stderr: !spec.Tty, spec.Tty, ct);
    }

    /// <summary>kubectl attach: CRI Attach's URL of the streaming server, spoken to as for exec (<see cref="OpenExecAsync"/>).</summary>
    public async Task<IExecProcess> OpenAttachAsync(IRunningContainer container, AttachSpec spec, CancellationToken ct = default)
    {
        if (container is not CriContainer c) throw new StreamingUnavailableException("not a CRI container");
        var request = new AttachRequest { ContainerId = c.Id, Tty = spec.Tty, Stdin = spec.Stdin, Stdout = true, Stderr = spec.Stderr && !spec.Tty };
        string url;
        try { url = (await _runtime.AttachAsync(request, Call(ct))).Url; }
        catch (RpcException e) { throw new StreamingUnavailableException(e.Status.Detail); }
        return await CriStreamSession.OpenAsync(url, spec.Stdin, stderr: request.Stderr, spec.Tty, ct);
    }

    // ---- relist (PLEG) ----

    private async Task RelistLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(RelistInterval, _stop.Token);
                if (_watched.IsEmpty) continue;
                var request = new ListContainersRequest { Filter = new ContainerFilter() };
                request.Filter.LabelSelector[Labels.Node] = _nodeName;
                var listed = (await _runtime.ListContainersAsync(request, Call(_stop.Token))).Containers.ToDictionary(c => c.Id, StringComparer.Ordinal);
                foreach (var (id, container) in _watched)
                {
                    if (listed.TryGetValue(id, out var c) && c.State is ContainerState.ContainerRunning or ContainerState.ContainerCreated) continue;
                    ContainerStatus? status = null;
                    if (listed.ContainsKey(id))
                        status = (await _runtime.ContainerStatusAsync(new ContainerStatusRequest { ContainerId = id }, Call(_stop.Token))).Status;
                    container.Ended(status);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested) { }
            catch (RpcException) { } // the runtime is restarting: the next relist sees it again
        }
    }

    private void Forget(string id) => _watched.TryRemove(id, out _);

    private async Task RemoveQuietlyAsync(string id)
    {
        try { await _runtime.RemoveContainerAsync(new RemoveContainerRequest { ContainerId = id }, Call()); }
        catch (RpcException) { }
    }

    private static DateTimeOffset? FromNanos(long nanos) => nanos > 0 ? DateTimeOffset.UnixEpoch.AddTicks(nanos / 100) : null;

    public void Dispose()
    {
        _stop.Cancel();
        _channel.Dispose();
    }

    /// <summary>One CRI container; Terminate/Kill are CRI StopContainer with the grace period (SIGTERM, then SIGKILL).</summary>
    private sealed class CriContainer(CriRuntime runtime, ContainerLaunch launch, string id, DateTimeOffset startedAt, string imageId) : IRunningContainer
    {
        private readonly TaskCompletionSource<ContainerExit> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private string? _signal;

        public ContainerLaunch Launch { get; } = launch;
        public string Id { get; } = id;
        public string ContainerId => "containerd://" + Id;
        public int? Pid => null;
        public DateTimeOffset StartedAt { get; } = startedAt;
        public string ImageId { get; } = imageId;
        public Task<ContainerExit> Exited => _exited.Task;

        /// <summary>Seen exited (or gone: null) by the relist.</summary>
        public void Ended(ContainerStatus? status)
        {
            runtime.Forget(Id);
            var code = status?.ExitCode ?? 137;
            var reason = status?.Reason is { Length: > 0 } r ? r : code == 0 ? "Completed" : "Error";
            var signal = code > 128 ? (code - 128) switch { 9 => "SIGKILL", 15 => "SIGTERM", var n => $"signal {n}" } : null;
            _exited.TrySetResult(new ContainerExit(code, reason, FromNanos(status?.FinishedAt ?? 0) ?? DateTimeOffset.UtcNow, signal ?? _signal));
        }

        public void Terminate() => Stop(TimeSpan.FromDays(1), "SIGTERM"); // the container actor kills after the grace period

        public void Kill() => Stop(TimeSpan.Zero, "SIGKILL");

        private void Stop(TimeSpan timeout, string signal)
        {
            if (_exited.Task.IsCompleted) return;
            _signal = signal;
            _ = runtime._runtime.StopContainerAsync(new StopContainerRequest { ContainerId = Id, Timeout = (long)timeout.TotalSeconds },
                new CallOptions(deadline: DateTime.UtcNow + timeout + CallTimeout)).ResponseAsync.ContinueWith(_ => { }, TaskScheduler.Default);
        }

        public ResourceUsage? Usage()
        {
            if (_exited.Task.IsCompleted) return null;
            try
            {
                var s = runtime._runtime.ContainerStats(new ContainerStatsRequest { ContainerId = Id }, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(2))).Stats;
                return new ResourceUsage((s.Cpu?.UsageCoreNanoSeconds?.Value ?? 0) / 1e9, (long)(s.Memory?.WorkingSetBytes?.Value ?? 0), DateTimeOffset.UtcNow);
            }
            catch (RpcException)
            {
                return null;
            }
        }
    }
}
