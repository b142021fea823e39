using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;
using k8s.Models;
using static AkkaKube.Actors.ApiServer.Registry.Validation;

namespace AkkaKube.Actors.ApiServer.Registry.Events;

/// <summary>
/// events.k8s.io/v1 events: a view of the same objects as core/v1 events (one partition, stored in the core
/// form), converted field by field as Kubernetes does — regarding ↔ involvedObject, note ↔ message,
/// reportingController ↔ reportingComponent, deprecatedSource/FirstTimestamp/LastTimestamp/Count ↔
/// source/firstTimestamp/lastTimestamp/count. New events must say when, who and what (eventTime,
/// reportingController, reportingInstance, action, reason), as the events.k8s.io validation demands.
/// </summary>
public sealed class EventStrategy : ResourceStrategy
{
    public override IReadOnlyCollection<string> FieldLabels { get; } = FieldLabelSets.Event;

    public override IReadOnlyDictionary<string, string> FieldLabelPaths => FieldLabelSets.EventAliases;

    /// <summary>(events.k8s.io field, core/v1 field): renamed at the top level; the rest keeps its name.</summary>
    private static readonly (string V1, string Core)[] Renamed =
    [
        ("regarding", "involvedObject"),
        ("note", "message"),
        ("reportingController", "reportingComponent"),
        ("deprecatedSource", "source"),
        ("deprecatedFirstTimestamp", "firstTimestamp"),
        ("deprecatedLastTimestamp", "lastTimestamp"),
        ("deprecatedCount", "count"),
    ];

    public override Type Model => typeof(Eventsv1Event);

    public override IEnumerable<StatusCause> Validate(JsonObject obj)
    {
        // events written through core/v1 (the kubelet's, the controllers') are read here too; only new ones must be complete
        if (obj["metadata"]?["resourceVersion"] is not null) yield break;
        if (obj["eventTime"] is null) yield return Required("eventTime");
        foreach (var field in new[] { "reportingController", "reportingInstance", "action", "reason" })
        {
            var value = Meta.Str(obj[field]);
            if (value.Length == 0) yield return Required(field);
            else if (value.Length > 128) yield return new StatusCause("FieldValueTooLong", $"Too long: may not be more than 128 bytes", field);
        }
        if (Meta.Str(obj["type"]) is var type && type is not ("Normal" or "Warning"))
            yield return NotSupported("type", type, "Normal", "Warning");
        if (Meta.Str(obj["note"]).Length > 1024)
            yield return new StatusCause("FieldValueTooLong", "Too long: may not be more than 1024 bytes", "note");
    }

    public EventStrategy() =>
        Columns = new Core.EventStrategy().Columns.Select(c => c with { Cell = (o, now) => c.Cell(ToCore(o), now) }).ToList();

    /// <summary>The core/v1 columns over the converted object (`kubectl get events.events.k8s.io` prints as `get events`).</summary>
    public override IReadOnlyList<TableColumn> Columns { get; }

    public override JsonObject ToStorage(JsonObject obj) => ToCore(obj);

    public override JsonObject FromStorage(JsonObject stored) => ToEventsV1(stored);

    public static JsonObject ToCore(JsonObject v1)
    {
        if (Meta.Str(v1["apiVersion"]) == "v1") return v1;
        var core = new JsonObject();
        foreach (var (key, value) in v1)
            core[Renamed.FirstOrDefault(r => r.V1 == key).Core ?? key] = value?.DeepClone();
        core["apiVersion"] = "v1";
        return core;
    }

    public static JsonObject ToEventsV1(JsonObject core)
    {
        if (Meta.Str(core["apiVersion"]) == "events.k8s.io/v1") return core;
        var v1 = new JsonObject();
        foreach (var (key, value) in core)
            v1[Renamed.FirstOrDefault(r => r.Core == key).V1 ?? key] = value?.DeepClone();
        v1["apiVersion"] = "events.k8s.io/v1";
        return v1;
    }
}
