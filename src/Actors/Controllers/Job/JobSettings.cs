using Akka.Configuration;

namespace AkkaKube.Actors.Controllers.Job;

/// <summary>The Job controller's own settings, from <c>akkakube.controllers.job</c> (hocon/control-plane.conf).</summary>
public sealed record JobSettings
{
    public const string SectionPath = "akkakube.controllers.job";

    /// <summary>Pod back-off after failures: base doubling per failure up to max (Kubernetes: 10 s, 6 min).</summary>
    public JobBackoff Backoff { get; init; } = JobBackoff.Default;

    public static JobSettings Create(Config config)
    {
        var c = config.GetConfig(SectionPath) ?? Config.Empty;
        var d = JobBackoff.Default;
        var s = new JobSettings { Backoff = new JobBackoff(c.GetTimeSpan("backoff-base", d.Base), c.GetTimeSpan("backoff-max", d.Max)) };
        if (s.Backoff.Base <= TimeSpan.Zero) throw new ArgumentException($"{SectionPath}.backoff-base must be positive");
        if (s.Backoff.Max < s.Backoff.Base) throw new ArgumentException($"{SectionPath}.backoff-max must be at least backoff-base");
        return s;
    }
}
