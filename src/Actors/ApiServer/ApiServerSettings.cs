using Akka.Configuration;

namespace AkkaKube.Actors.ApiServer;

/// <summary>Settings of the apiserver (HOCON block `akkakube.apiserver` in hocon/control-plane.conf).</summary>
public sealed record ApiServerSettings
{
    /// <summary>Largest accepted request body (Kubernetes: 3 MiB). Larger → 413 RequestEntityTooLarge.</summary>
    public long MaxRequestBodyBytes { get; init; } = 3 * 1024 * 1024;

    /// <summary>How long a request waits for the store before 504 Timeout.</summary>
    public TimeSpan StoreTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A read or a create the store has not answered after this long is sent again (Pipeline/StoreAccess.cs, StoreAsk): a
    /// command routed to a partition on a control-plane node that just died is lost, not buffered (issue 25); the store
    /// applies a create once per uid, so a second copy is answered with the first one's object if that one did arrive.
    /// </summary>
    public TimeSpan StoreRetryAfter { get; init; } = TimeSpan.FromSeconds(1.5);

    /// <summary>How long an in-cluster client (ActorKubeApi) waits for an apiserver actor.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Upper bound of a watch when the client gives no timeoutSeconds (Kubernetes: 30–60 min, randomised).</summary>
    public TimeSpan MaxWatchDuration { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// Events a watch may have queued for a client that does not read them (Kubernetes' cacheWatcher buffer): beyond
    /// this many, or <see cref="WatchBufferBytes"/>, the watch ends with a 410 ERROR event and the client re-lists.
    /// </summary>
    public int WatchBufferEvents { get; init; } = 10_000;

    /// <summary>Bytes of event objects a watch may have queued for a slow client (see <see cref="WatchBufferEvents"/>).</summary>
    public long WatchBufferBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>
    /// A cut-off watch's client gets this long to take its final 410 ERROR event; one that does not read it is closed
    /// (Kubernetes: "Forcing watcher close due to unresponsiveness").
    /// </summary>
    public TimeSpan WatchCutOffGrace { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// tolerationSeconds of the not-ready/unreachable NoExecute tolerations added to every new pod
    /// (Kubernetes' DefaultTolerationSeconds admission: 300 s). See docs/failover.md for the choice.
    /// </summary>
    public long DefaultTolerationSeconds { get; init; } = 5;

    /// <summary>Built-in admission plugins switched off by name (kube-apiserver's --disable-admission-plugins), e.g. ServiceAccount.</summary>
    public IReadOnlyList<string> DisableAdmissionPlugins { get; init; } = [];

    public static ApiServerSettings Create(Config config)
    {
        var c = config.GetConfig("akkakube.apiserver");
        if (c is null || c.IsEmpty) return new ApiServerSettings();
        var s = new ApiServerSettings
        {
            MaxRequestBodyBytes = c.GetLong("max-request-body-bytes", 3 * 1024 * 1024),
            StoreTimeout = c.GetTimeSpan("store-timeout", TimeSpan.FromSeconds(10)),
            StoreRetryAfter = c.GetTimeSpan("store-retry-after", TimeSpan.FromSeconds(1.5)),
            RequestTimeout = c.GetTimeSpan("request-timeout", TimeSpan.FromSeconds(15)),
            MaxWatchDuration = c.GetTimeSpan("max-watch-duration", TimeSpan.FromMinutes(30)),
            DefaultTolerationSeconds = c.GetLong("default-toleration-seconds", 5),
            WatchBufferEvents = c.GetInt("watch-buffer-events", 10_000),
            WatchBufferBytes = c.GetByteSize("watch-buffer-bytes") ?? 64L * 1024 * 1024,
            DisableAdmissionPlugins = c.HasPath("disable-admission-plugins") ? c.GetStringList("disable-admission-plugins").ToList() : [],
            WatchCutOffGrace = c.GetTimeSpan("watch-cutoff-grace", TimeSpan.FromSeconds(5)),
        };
        Admission.AdmissionChain.Default.Without(s.DisableAdmissionPlugins); // refuses unknown names at start
        if (s.WatchCutOffGrace <= TimeSpan.Zero) throw new ArgumentException("akkakube.apiserver.watch-cutoff-grace must be positive");
        if (s.WatchBufferEvents < 1 || s.WatchBufferBytes < 1024) throw new ArgumentException("akkakube.apiserver.watch-buffer-events must be positive and watch-buffer-bytes at least 1024");
        if (s.DefaultTolerationSeconds < 0) throw new ArgumentException("akkakube.apiserver.default-toleration-seconds must not be negative");
        if (s.MaxRequestBodyBytes < 1024) throw new ArgumentException("akkakube.apiserver.max-request-body-bytes must be at least 1024");
        if (s.StoreTimeout <= TimeSpan.Zero) throw new ArgumentException("akkakube.apiserver.store-timeout must be positive");
        if (s.StoreRetryAfter <= TimeSpan.Zero) throw new ArgumentException("akkakube.apiserver.store-retry-after must be positive");
        if (s.RequestTimeout <= TimeSpan.Zero) throw new ArgumentException("akkakube.apiserver.request-timeout must be positive");
        if (s.MaxWatchDuration <= TimeSpan.Zero) throw new ArgumentException("akkakube.apiserver.max-watch-duration must be positive");
        return s;
    }
}
