using Akka.Configuration;

namespace AkkaKube.Actors.Controllers.PodGc;

/// <summary>The pod garbage collector's settings, from <c>akkakube.controllers.podgc</c> (hocon/control-plane.conf).</summary>
public sealed record PodGcSettings
{
    public const string SectionPath = "akkakube.controllers.podgc";

    /// <summary>How long a pod's Node must stay absent before the pod is collected (Kubernetes: 40 s).</summary>
    public TimeSpan OrphanQuarantine { get; init; } = TimeSpan.FromSeconds(40);

    /// <summary>Finished pods kept at most; the oldest beyond go (Kubernetes' --terminated-pod-gc-threshold 12500; 0 = keep all).</summary>
    public int TerminatedPodThreshold { get; init; } = 12500;

    public static PodGcSettings Create(Config config)
    {
        var c = config.GetConfig(SectionPath) ?? Config.Empty;
        var d = new PodGcSettings();
        var s = new PodGcSettings
        {
            OrphanQuarantine = c.GetTimeSpan("orphan-quarantine", d.OrphanQuarantine),
            TerminatedPodThreshold = c.GetInt("terminated-pod-gc-threshold", d.TerminatedPodThreshold),
        };
        if (s.OrphanQuarantine < TimeSpan.Zero) throw new ArgumentException($"{SectionPath}.orphan-quarantine must not be negative");
        if (s.TerminatedPodThreshold < 0) throw new ArgumentException($"{SectionPath}.terminated-pod-gc-threshold must not be negative (0 keeps every finished pod)");
        return s;
    }
}
