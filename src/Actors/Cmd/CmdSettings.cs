using Akka.Configuration;

namespace AkkaKube.Actors.Cmd;

/// <summary>Settings of the command host from the `akkakube.cmd` HOCON block (hocon/base.conf). Address, port and token come from the node's flags.</summary>
public sealed record CmdSettings
{
    public int MaxConnections { get; init; } = 64;
    public int LogRingSize { get; init; } = 2000;
    public TimeSpan ProbeTimeout { get; init; } = TimeSpan.FromSeconds(2);
    public int MaxRequestBytes { get; init; } = 64 * 1024;
    /// <summary>Reply bytes a connection may hold unsent; beyond, its command is stopped with an error line (a slow or stuck client).</summary>
    public long MaxOutputBufferBytes { get; init; } = 8L * 1024 * 1024;
    /// <summary>How long a cut-off client gets to take the error line before its connection is closed.</summary>
    public TimeSpan OutputCutOffGrace { get; init; } = TimeSpan.FromSeconds(5);

    public static CmdSettings Create(Config config)
    {
        var c = config.GetConfig("akkakube.cmd");
        if (c is null || c.IsEmpty) return new CmdSettings();
        var s = new CmdSettings
        {
            MaxConnections = c.GetInt("max-connections", 64),
            LogRingSize = c.GetInt("log-ring-size", 2000),
            ProbeTimeout = c.GetTimeSpan("probe-timeout", TimeSpan.FromSeconds(2)),
            MaxRequestBytes = c.GetInt("max-request-bytes", 64 * 1024),
            MaxOutputBufferBytes = c.GetByteSize("max-output-buffer-bytes") ?? 8L * 1024 * 1024,
            OutputCutOffGrace = c.GetTimeSpan("output-cutoff-grace", TimeSpan.FromSeconds(5)),
        };
        if (s.MaxOutputBufferBytes < 1024) throw new ArgumentException("akkakube.cmd.max-output-buffer-bytes must be at least 1024");
        if (s.OutputCutOffGrace <= TimeSpan.Zero) throw new ArgumentException("akkakube.cmd.output-cutoff-grace must be positive");
        if (s.MaxConnections < 1) throw new ArgumentException("akkakube.cmd.max-connections must be at least 1");
        if (s.LogRingSize < 16) throw new ArgumentException("akkakube.cmd.log-ring-size must be at least 16");
        if (s.ProbeTimeout <= TimeSpan.Zero) throw new ArgumentException("akkakube.cmd.probe-timeout must be positive");
        if (s.MaxRequestBytes < 1024) throw new ArgumentException("akkakube.cmd.max-request-bytes must be at least 1024");
        return s;
    }
}
