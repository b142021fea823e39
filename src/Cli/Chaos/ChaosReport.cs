using System.Text.Json;
using System.Text.Json.Serialization;

namespace AkkaKube.Cli.Chaos;

/// <summary>One timeline entry: seconds since the fault was injected.</summary>
public sealed record TimelineEntry(double Seconds, string Event, string Detail);

/// <summary>What a chaos command did and saw; printed as text or, with --json, as one JSON object.</summary>
public sealed class ChaosReport
{
    public required string Fault { get; init; }
    public required IReadOnlyList<string> Targets { get; init; }
    public DateTime InjectedAt { get; set; }
    public bool Recovered { get; set; }
    public double? RecoveredAfterSeconds { get; set; }
    public double TimeoutSeconds { get; init; }
    public List<TimelineEntry> Timeline { get; } = [];
    public int ApiProbes { get; set; }
    public int ApiFailures { get; set; }
    public double LongestApiOutageSeconds { get; set; }
    /// <summary>Probes where the API answered but /readyz said not ready (e.g. a store partition moving), and the longest such window.</summary>
    public int ApiNotReady { get; set; }
    public double LongestNotReadySeconds { get; set; }
    /// <summary>Pods on nodes the fault did not touch that were deleted while it ran (should be 0).</summary>
    public int CollateralPodDeletions { get; set; }
    public List<string> Leftovers { get; } = [];
    public List<string> Notes { get; } = [];
    /// <summary>Store partitions that lived on a killed control-plane node → the node that hosts each now.</summary>
    public Dictionary<string, string>? PartitionMoves { get; set; }
    /// <summary>
    /// Each moved partition's hand-over split against <see cref="InjectedAt"/>: when its entity started on the survivor
    /// (failure detection, removal, coordinator hand-over and shard allocation before it) and when its journal replay ended.
    /// </summary>
    public Dictionary<string, PartitionHandover>? PartitionHandovers { get; set; }
    /// <summary>A control-plane kill's store hand-over split into its steps, and what writers saw (<see cref="HandoverBreakdown"/>).</summary>
    public HandoverBreakdown? Handover { get; set; }
    public Dictionary<string, int>? StartsBefore { get; set; }
    public Dictionary<string, int>? StartsAfter { get; set; }
    /// <summary>crash-actor/stop-actor of a non-controller actor: the actor's incarnations, failure counts and re-sync.</summary>
    public ActorFaultReport? Actor { get; init; }
    /// <summary>Services behind the targets, their traffic and the surviving nodes' DNS while the fault ran (<see cref="DataPlaneProbe"/>).</summary>
    public DataPlaneReport? DataPlane { get; set; }
    /// <summary>The Event (namespace/name) that records this run in the cluster (<see cref="ChaosRecord"/>).</summary>
    public string? RecordedAs { get; set; }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
    private static readonly JsonSerializerOptions CompactJson = new(Json) { WriteIndented = false };

    public string ToJson(bool indented = true) => JsonSerializer.Serialize(this, indented ? Json : CompactJson);

    public void Add(double seconds, string @event, string detail = "")
    {
        lock (Timeline) Timeline.Add(new TimelineEntry(Math.Round(seconds, 2), @event, detail));
    }

    public bool Has(string @event)
    {
        lock (Timeline) return Timeline.Any(t => t.Event == @event);
    }

    public string ToText()
    {
        var w = new StringWriter();
        w.WriteLine($"chaos {Fault} {string.Join(",", Targets)} at {InjectedAt:HH:mm:ss.fff}Z");
        foreach (var t in Timeline.OrderBy(t => t.Seconds))
            w.WriteLine($"  +{t.Seconds,7:0.00}s  {t.Event}{(t.Detail.Length > 0 ? "  " + t.Detail : "")}");
        if (Handover is not null) w.Write(Handover.ToText());
        if (StartsBefore is not null)
            foreach (var (k, v) in StartsBefore.OrderBy(k => k.Key, StringComparer.Ordinal))
                w.WriteLine($"  starts {k}: {v} → {StartsAfter?.GetValueOrDefault(k).ToString() ?? "?"}");
        if (Actor is { } a)
        {
            w.WriteLine($"  actor {a.Path} on {a.Node} ({a.Type})");
            w.WriteLine($"  supervised failures (`actor restarts`): {a.FailuresBefore} → {a.FailuresAfter?.ToString() ?? "?"}");
            w.WriteLine($"  incarnation uid: {a.UidBefore} → {a.UidAfter ?? "?"}");
            if (a.RecreatedBy is not null) w.WriteLine($"  re-created by: {a.RecreatedBy}");
            if (a.Resynced is not null) w.WriteLine($"  re-synced: {a.Resynced}");
        }
        w.WriteLine(Recovered
            ? $"recovered in {RecoveredAfterSeconds:0.00} s"
            : $"NOT recovered within {TimeoutSeconds:0} s");
        w.WriteLine($"API: {ApiProbes} probes, {ApiFailures} failed, longest outage {LongestApiOutageSeconds:0.00} s; " +
                    $"readyz: {ApiNotReady} not ready, longest {LongestNotReadySeconds:0.00} s");
        if (DataPlane?.ToText() is { Length: > 0 } dataPlane) w.Write(dataPlane);
        if (RecordedAs is not null) w.WriteLine($"recorded as Event {RecordedAs} (reason {ChaosRecord.Reason})");
        foreach (var n in Notes) w.WriteLine($"note: {n}");
        foreach (var l in Leftovers) w.WriteLine($"leftover: {l}");
        return w.ToString();
    }
}

/// <summary>The actor side of a crash-actor/stop-actor report (failures = the node's supervised-failure counter for the path).</summary>
public sealed class ActorFaultReport
{
    public required string Node { get; init; }
    public required string Path { get; init; }
    public required string Type { get; init; }
    public required string UidBefore { get; init; }
    public string? UidAfter { get; set; }
    public int FailuresBefore { get; init; }
    public int? FailuresAfter { get; set; }
    public string? RecreatedBy { get; set; }
    public string? Resynced { get; set; }
    public int ProbeErrors { get; set; }
    public string? LastProbeError { get; set; }
}

/// <summary>One store partition's move: the survivor, seconds from the fault to its start there and to the end of its recovery.</summary>
public sealed record PartitionHandover(string Node, double? StartedAfterSeconds, double? RecoveredAfterSeconds, double? RecoverySeconds, long? EventsReplayed);
