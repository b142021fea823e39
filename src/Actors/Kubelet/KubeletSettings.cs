using Akka.Configuration;
using AkkaKube.Actors.Runtime;

namespace AkkaKube.Actors.Kubelet;

/// <summary>Back-off of container restarts (CrashLoopBackOff): Min doubling to Max, reset after ResetAfter running.</summary>
public sealed record BackoffSettings(TimeSpan Min, TimeSpan Max, double RandomFactor, TimeSpan ResetAfter);

/// <summary>Kubelet settings (HOCON <c>akkakube.kubelet</c>); validated, messages name the option.</summary>
public sealed record KubeletSettings
{
    /// <summary>process (default), simulated (hollow) or cri (<see cref="ContainerRuntimeEndpoint"/>).</summary>
    public string Runtime { get; init; } = "process";
    /// <summary>cri: the CRI socket, unix:///path (the kubelet's --container-runtime-endpoint).</summary>
    public string? ContainerRuntimeEndpoint { get; init; }
    public int HollowNodes { get; init; }
    public TimeSpan LeaseInterval { get; init; } = TimeSpan.FromSeconds(2);
    public int LeaseDurationSeconds { get; init; } = 10;
    public TimeSpan HollowLeaseInterval { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan NodeStatusInterval { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>An unchanged Node status is re-posted only this often (Kubernetes' nodeStatusReportFrequency); the Lease is the heartbeat.</summary>
    public TimeSpan NodeStatusReportFrequency { get; init; } = TimeSpan.FromMinutes(5);
    public TimeSpan RegisterRetry { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>A pod worker that stopped unasked (e.g. `akkakube chaos stop-actor`) is re-created after this pause.</summary>
    public TimeSpan WorkerRecreateDelay { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>Null = from the machine.</summary>
    public string? CapacityCpu { get; init; }
    public string? CapacityMemory { get; init; }
    public int CapacityPods { get; init; } = 110;
    public BackoffSettings Backoff { get; init; } = new(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(300), 0.0, TimeSpan.FromMinutes(10));
    public TimeSpan StatusCoalesce { get; init; } = TimeSpan.FromMilliseconds(50);
    public TimeSpan MetricsInterval { get; init; } = TimeSpan.FromSeconds(5);
    public TimeSpan LogFollowPoll { get; init; } = TimeSpan.FromMilliseconds(200);
    public bool Events { get; init; } = true;
    public bool HollowEvents { get; init; }
    public int HollowCidrOffset { get; init; } = 8192;
    public RuntimeSettings RuntimeSettings { get; init; } = new();
    /// <summary>Pods' DNS (cluster-dns, the cluster domain, the host's resolv.conf); set by the hosting from akkakube.dns.</summary>
    public PodDnsSettings Dns { get; init; } = PodDnsSettings.None;

    public static KubeletSettings Create(Config config)
    {
        var c = config.GetConfig("akkakube.kubelet") ?? Config.Empty;
        var runtime = c.GetString("runtime", "process");
        if (runtime is not ("process" or "simulated" or "cri"))
            throw new ConfigurationException($"akkakube.kubelet.runtime must be 'process', 'simulated' or 'cri', not '{runtime}'");
        var endpoint = c.GetString("container-runtime-endpoint", "") is { Length: > 0 } ep ? ep : null;
        if (runtime == "cri" && endpoint is null)
            throw new ConfigurationException("akkakube.kubelet.runtime = cri needs akkakube.kubelet.container-runtime-endpoint (unix:///path/to/containerd.sock)");
        if (endpoint is not null && !endpoint.StartsWith("unix:///", StringComparison.Ordinal))
            throw new ConfigurationException($"akkakube.kubelet.container-runtime-endpoint '{endpoint}' must be unix:///path/to/socket");
        var hollow = c.GetInt("hollow-nodes", 0);
        if (Environment.GetEnvironmentVariable("AKKAKUBE_HOLLOW_NODES") is { Length: > 0 } env)
            hollow = int.TryParse(env, out var h) ? h : throw new ConfigurationException($"AKKAKUBE_HOLLOW_NODES='{env}' is not a number");
        if (hollow is < 0 or > 20000) throw new ConfigurationException("akkakube.kubelet.hollow-nodes must be between 0 and 20000");

        TimeSpan Positive(string path, TimeSpan d)
        {
            var v = c.GetTimeSpan(path, d);
            if (v <= TimeSpan.Zero) throw new ConfigurationException($"akkakube.kubelet.{path} must be positive");
            return v;
        }

        var backoff = new BackoffSettings(
            Positive("backoff.min", TimeSpan.FromSeconds(10)),
            Positive("backoff.max", TimeSpan.FromSeconds(300)),
            c.GetDouble("backoff.random-factor", 0.0),
            Positive("backoff.reset-after", TimeSpan.FromMinutes(10)));
        if (backoff.Max < backoff.Min) throw new ConfigurationException("akkakube.kubelet.backoff.max must be >= backoff.min");
        if (backoff.RandomFactor is < 0 or > 1) throw new ConfigurationException("akkakube.kubelet.backoff.random-factor must be in [0, 1]");

        var pods = c.GetInt("capacity.pods", 110);
        if (pods is < 1 or > 100000) throw new ConfigurationException("akkakube.kubelet.capacity.pods must be between 1 and 100000");
        string? Opt(string path) => c.GetString(path, "") is { Length: > 0 } s ? s : null;
        var cpu = Opt("capacity.cpu");
        var memory = Opt("capacity.memory");
        if (cpu is not null && !TryQuantity(cpu)) throw new ConfigurationException($"akkakube.kubelet.capacity.cpu '{cpu}' is not a quantity");
        if (memory is not null && !TryQuantity(memory)) throw new ConfigurationException($"akkakube.kubelet.capacity.memory '{memory}' is not a quantity");
        var leaseDuration = c.GetInt("lease-duration-seconds", 10);
        if (leaseDuration < 1) throw new ConfigurationException("akkakube.kubelet.lease-duration-seconds must be >= 1");

        return new KubeletSettings
        {
            Runtime = runtime,
            ContainerRuntimeEndpoint = endpoint,
            HollowNodes = hollow,
            LeaseInterval = Positive("lease-interval", TimeSpan.FromSeconds(2)),
            LeaseDurationSeconds = leaseDuration,
            HollowLeaseInterval = Positive("hollow-lease-interval", TimeSpan.FromSeconds(10)),
            NodeStatusInterval = Positive("node-status-interval", TimeSpan.FromSeconds(10)),
            NodeStatusReportFrequency = Positive("node-status-report-frequency", TimeSpan.FromMinutes(5)),
            RegisterRetry = Positive("register-retry", TimeSpan.FromSeconds(1)),
            WorkerRecreateDelay = Positive("worker-recreate-delay", TimeSpan.FromSeconds(1)),
            CapacityCpu = cpu,
            CapacityMemory = memory,
            CapacityPods = pods,
            Backoff = backoff,
            StatusCoalesce = c.GetTimeSpan("status-coalesce", TimeSpan.FromMilliseconds(50)),
            MetricsInterval = Positive("metrics-interval", TimeSpan.FromSeconds(5)),
            LogFollowPoll = Positive("log-follow-poll", TimeSpan.FromMilliseconds(200)),
            Events = c.GetBoolean("events", true),
            HollowEvents = c.GetBoolean("hollow-events", false),
            HollowCidrOffset = c.GetInt("hollow-cidr-offset", 8192),
            RuntimeSettings = RuntimeSettings.Create(config),
        };
    }

    private static bool TryQuantity(string s)
    {
        try
        {
            _ = new k8s.Models.ResourceQuantity(s).ToDecimal();
            return true;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
        {
            return false;
        }
    }
}
