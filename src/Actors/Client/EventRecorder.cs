using System.Globalization;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Event;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Client;

/// <summary>What an event is about (core/v1 ObjectReference).</summary>
public sealed record InvolvedObject(string Kind, string? Namespace, string Name, string? Uid, string ApiVersion, string? ResourceVersion = null, string? FieldPath = null)
{
    /// <summary>The reference to a Kubernetes object given as JSON.</summary>
    public static InvolvedObject Of(JsonObject obj, string? fieldPath = null)
    {
        var meta = obj["metadata"] as JsonObject;
        return new InvolvedObject(
            obj["kind"]?.GetValue<string>() ?? "",
            meta?["namespace"]?.GetValue<string>(),
            meta?["name"]?.GetValue<string>() ?? "",
            meta?["uid"]?.GetValue<string>(),
            obj["apiVersion"]?.GetValue<string>() ?? "v1",
            meta?["resourceVersion"]?.GetValue<string>(),
            fieldPath);
    }

    public JsonObject ToJson()
    {
        var o = new JsonObject { ["kind"] = Kind, ["name"] = Name, ["apiVersion"] = ApiVersion };
        if (Namespace is not null) o["namespace"] = Namespace;
        if (Uid is not null) o["uid"] = Uid;
        if (ResourceVersion is not null) o["resourceVersion"] = ResourceVersion;
        if (FieldPath is not null) o["fieldPath"] = FieldPath;
        return o;
    }
}

public static class EventRecorderProtocol
{
    public const string Normal = "Normal";
    public const string Warning = "Warning";

    /// <summary>Record an event (local message to a component's <see cref="EventRecorder"/> child).</summary>
    public sealed record Record(InvolvedObject Involved, string Type, string Reason, string Message);
}

/// <summary>
/// Aggregation like client-go's EventCorrelator: the same event (source, object, type, reason, message)
/// seen again updates count and lastTimestamp of the existing Event instead of creating a new one.
/// Pure: the recorder actor performs the decisions.
/// </summary>
public sealed class EventAggregator(string component, string? host, int capacity = 4096)
{
    public abstract record Decision;
    public sealed record Create(string Namespace, JsonObject Event) : Decision;
    public sealed record Patch(string Namespace, string Name, int Count, JsonObject Body, JsonObject FullEvent) : Decision;

    private sealed record Seen(string Namespace, string Name, int Count, DateTime First);

    private readonly Dictionary<string, Seen> _seen = new(StringComparer.Ordinal);
    private readonly LinkedList<string> _order = new();

    public Decision Observe(EventRecorderProtocol.Record record, DateTime now)
    {
        var i = record.Involved;
        var key = string.Join("\u0000", component, host, i.Kind, i.Namespace, i.Name, i.Uid, i.FieldPath, record.Type, record.Reason, record.Message);
        var ns = string.IsNullOrEmpty(i.Namespace) ? "default" : i.Namespace;
        var ts = Timestamp(now);
        if (_seen.TryGetValue(key, out var seen))
        {
            var count = seen.Count + 1;
            _seen[key] = seen with { Count = count };
            var full = Build(record, seen.Namespace, seen.Name, count, Timestamp(seen.First), ts);
            return new Patch(seen.Namespace, seen.Name, count, new JsonObject { ["count"] = count, ["lastTimestamp"] = ts }, full);
        }
        var name = $"{i.Name}.{(now - DateTime.UnixEpoch).Ticks * 100:x}";
        _seen[key] = new Seen(ns, name, 1, now);
        _order.AddLast(key);
        while (_order.Count > capacity)
        {
            _seen.Remove(_order.First!.Value);
            _order.RemoveFirst();
        }
        return new Create(ns, Build(record, ns, name, 1, ts, ts));
    }

    /// <summary>The Event vanished (e.g. expired): forget it so the next repeat creates a new one.</summary>
    public void Forget(string ns, string name)
    {
        foreach (var (k, v) in _seen)
            if (v.Namespace == ns && v.Name == name) { _seen.Remove(k); _order.Remove(k); return; }
    }

    private JsonObject Build(EventRecorderProtocol.Record r, string ns, string name, int count, string first, string last)
    {
        var source = new JsonObject { ["component"] = component };
        if (host is not null) source["host"] = host;
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Event",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
            ["involvedObject"] = r.Involved.ToJson(),
            ["reason"] = r.Reason,
            ["message"] = r.Message,
            ["type"] = r.Type,
            ["source"] = source,
            ["firstTimestamp"] = first,
            ["lastTimestamp"] = last,
            ["count"] = count,
            ["reportingComponent"] = component,
            ["reportingInstance"] = host ?? component,
        };
    }

    public static string Timestamp(DateTime t) => t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}

/// <summary>
/// Writes Kubernetes core/v1 Events for one component (source.component, e.g. "default-scheduler",
/// "replicaset-controller", "kubelet"), aggregating repeats. Create as a child and Tell it
/// <see cref="EventRecorderProtocol.Record"/>; failures are logged, never thrown (events are best effort).
/// </summary>
public sealed class EventRecorder : ReceiveActor
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IKubeApi _api;
    private readonly EventAggregator _aggregator;
    private readonly Func<DateTime> _now;

    private sealed record Failed(EventAggregator.Decision Decision, Exception Error);
    private sealed class Ok { public static readonly Ok Instance = new(); }

    public EventRecorder(IKubeApi api, string component, string? host, Func<DateTime>? now)
    {
        _api = api;
        _aggregator = new EventAggregator(component, host);
        _now = now ?? (() => DateTime.UtcNow);
        Receive<EventRecorderProtocol.Record>(r => Execute(_aggregator.Observe(r, _now())));
        Receive<Ok>(_ => { });
        Receive<Failed>(f =>
        {
            if (f.Decision is EventAggregator.Patch p && f.Error is KubeApiException { IsNotFound: true })
            {
                // The event expired or its create has not landed: write it whole.
                Execute(new EventAggregator.Create(p.Namespace, p.FullEvent));
                return;
            }
            _log.Debug("event write failed: {0}", f.Error.Message);
        });
    }

    public static Props Props(IKubeApi api, string component, string? host = null, Func<DateTime>? now = null) =>
        Akka.Actor.Props.Create(() => new EventRecorder(api, component, host, now));

    private void Execute(EventAggregator.Decision decision)
    {
        Task task = decision switch
        {
            EventAggregator.Create c => _api.CreateAsync(ApiResource.Events, c.Namespace, c.Event),
            EventAggregator.Patch p => _api.PatchAsync(ApiResource.Events, p.Namespace, p.Name, PatchType.Merge, p.Body.ToJsonString()),
            _ => Task.CompletedTask,
        };
        task.PipeTo(Self, success: () => Ok.Instance, failure: e => new Failed(decision, e is AggregateException a ? a.InnerException ?? a : e));
    }
}
