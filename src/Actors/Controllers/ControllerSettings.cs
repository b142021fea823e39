using Akka.Configuration;

namespace AkkaKube.Actors.Controllers;

/// <summary>Settings of the controller-manager, from the <c>akkakube.controllers</c> HOCON block (hocon/control-plane.conf).</summary>
public sealed record ControllerSettings
{
    public const string SectionPath = "akkakube.controllers";

    /// <summary>Reconciles in flight at once per controller (Kubernetes' --concurrent-*-syncs).</summary>
    public int Workers { get; init; } = 5;

    /// <summary>Back-off of a key whose reconcile failed: MinRetry doubling to MaxRetry.</summary>
    public TimeSpan MinRetry { get; init; } = TimeSpan.FromMilliseconds(100);
    public TimeSpan MaxRetry { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Restart budget of one controller: at most this many restarts within the window, then it is stopped.</summary>
    public int MaxRestarts { get; init; } = 10;
    public TimeSpan RestartWindow { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>ReplicaSet expectations older than this are considered stale (Kubernetes: 5 min).</summary>
    public TimeSpan ExpectationsTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Pods created per batch grow 1, 2, 4 … up to this (Kubernetes' slow start; burst 500).</summary>
    public int MaxBurst { get; init; } = 500;

    /// <summary>How often the namespace controller re-checks a terminating namespace that is not empty yet.</summary>
    public TimeSpan NamespaceRecheck { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How often every HorizontalPodAutoscaler is synced (Kubernetes' --horizontal-pod-autoscaler-sync-period).</summary>
    public TimeSpan HpaSyncPeriod { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>The CA published as kube-root-ca.crt (kube-controller-manager's --root-ca-file): the cluster CA of the node's data directory.</summary>
    public string? RootCaFile { get; init; }

    /// <summary>Controllers to run (child actor names).</summary>
    public IReadOnlyList<string> Enabled { get; init; } = ControllerNames.All;

    public static ControllerSettings Create(Config config)
    {
        var c = config.GetConfig(SectionPath) ?? Config.Empty;
        var d = new ControllerSettings();
        IEnumerable<string> enabled = c.HasPath("enabled") ? c.GetStringList("enabled") : d.Enabled;
        var s = new ControllerSettings
        {
            Workers = c.GetInt("workers", d.Workers),
            MinRetry = c.GetTimeSpan("min-retry", d.MinRetry),
            MaxRetry = c.GetTimeSpan("max-retry", d.MaxRetry),
            MaxRestarts = c.GetInt("max-restarts", d.MaxRestarts),
            RestartWindow = c.GetTimeSpan("restart-window", d.RestartWindow),
            ExpectationsTimeout = c.GetTimeSpan("expectations-timeout", d.ExpectationsTimeout),
            MaxBurst = c.GetInt("max-burst", d.MaxBurst),
            NamespaceRecheck = c.GetTimeSpan("namespace-recheck", d.NamespaceRecheck),
            HpaSyncPeriod = c.GetTimeSpan("hpa-sync-period", d.HpaSyncPeriod),
            Enabled = enabled.ToList(),
        };
        s.Validate();
        return s;
    }

    public void Validate()
    {
        if (Workers < 1) throw new ArgumentException("akkakube.controllers.workers must be at least 1");
        if (MinRetry <= TimeSpan.Zero) throw new ArgumentException("akkakube.controllers.min-retry must be positive");
        if (MaxRetry < MinRetry) throw new ArgumentException("akkakube.controllers.max-retry must be at least min-retry");
        if (MaxRestarts < 0) throw new ArgumentException("akkakube.controllers.max-restarts must not be negative");
        if (RestartWindow <= TimeSpan.Zero) throw new ArgumentException("akkakube.controllers.restart-window must be positive");
        if (HpaSyncPeriod <= TimeSpan.Zero) throw new ArgumentException("akkakube.controllers.hpa-sync-period must be positive");
        if (MaxBurst < 1) throw new ArgumentException("akkakube.controllers.max-burst must be at least 1");
        foreach (var e in Enabled)
            if (!ControllerNames.All.Contains(e)) throw new ArgumentException($"akkakube.controllers.enabled: unknown controller '{e}' (known: {string.Join(", ", ControllerNames.All)})");
    }
}

public static class ControllerNames
{
    public const string ReplicaSet = "replicaset";
    public const string Deployment = "deployment";
    public const string GarbageCollector = "garbage-collector";
    public const string Namespace = "namespace";
    public const string NodeLifecycle = "node-lifecycle";
    public const string ClusterRoleAggregation = "clusterrole-aggregation";
    public const string ServiceAccount = "serviceaccount";
    public const string RootCaPublisher = "root-ca-cert-publisher";
    public const string EndpointSlice = "endpointslice";
    public const string HorizontalPodAutoscaler = "horizontalpodautoscaling";
    public const string Job = "job";
    public const string CronJob = "cronjob";
    public const string PersistentVolume = "persistentvolume-binder";
    public const string ResourceQuota = "resourcequota";
    public const string Disruption = "disruption";
    public const string StatefulSet = "statefulset";
    public const string DaemonSet = "daemonset";
    public const string PodGc = "podgc";
    public static readonly IReadOnlyList<string> All = [ReplicaSet, Deployment, GarbageCollector, Namespace, NodeLifecycle, ClusterRoleAggregation, ServiceAccount, RootCaPublisher, EndpointSlice, HorizontalPodAutoscaler,
        Job, CronJob, PersistentVolume, ResourceQuota, Disruption, StatefulSet, DaemonSet, PodGc];
}
