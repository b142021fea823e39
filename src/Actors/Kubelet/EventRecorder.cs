using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Event;
using AkkaKube.Actors.Client;

namespace AkkaKube.Actors.Kubelet;

/// <summary>
/// Records core/v1 Events for the kubelet (Pulled, Created, Started, Killing, BackOff, Unhealthy…). A repeat of
/// the same (object, reason, message) within the cache bumps count and lastTimestamp instead of creating a new
/// Event, as client-go's event correlator does.
/// </summary>
public sealed class EventRecorder : ReceiveActor
{
    public sealed record ObjectRef(string Namespace, string Name, string Uid, string? FieldPath = null, string Kind = "Pod", string ApiVersion = "v1");

    public sealed record Record(ObjectRef Object, string Type, string Reason, string Message);

    private sealed record Written(string Key, string Name);

    private const int MaxEntries = 4096;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, (string Name, int Count, string Ns)> _seen = new(StringComparer.Ordinal);
    private readonly LinkedList<string> _order = new();
    private int _seq;

    public EventRecorder(IKubeApi api, string nodeName, bool enabled)
    {
        Receive<Record>(r =>
        {
            if (!enabled) return;
            var key = $"{r.Object.Namespace}/{r.Object.Uid}/{r.Object.FieldPath}/{r.Type}/{r.Reason}/{r.Message}";
            var now = NodeObjects.Time(DateTimeOffset.UtcNow);
            if (_seen.TryGetValue(key, out var entry))
            {
                if (entry.Name.Length == 0) return; // the create is still in flight
                var count = entry.Count + 1;
                _seen[key] = (entry.Name, count, entry.Ns);
                var patch = new JsonObject { ["count"] = count, ["lastTimestamp"] = now }.ToJsonString();
                api.PatchAsync(ApiResource.Events, entry.Ns, entry.Name, PatchType.Merge, patch)
                    .ContinueWith(t => { if (t.IsFaulted) _log.Debug("event patch failed: {0}", t.Exception?.GetBaseException().Message); }, TaskScheduler.Default);
                return;
            }
            var name = $"{r.Object.Name}.{DateTime.UtcNow.Ticks:x}{++_seq:x}";
            _seen[key] = ("", 1, r.Object.Namespace);
            _order.AddLast(key);
            while (_order.Count > MaxEntries)
            {
                _seen.Remove(_order.First!.Value);
                _order.RemoveFirst();
            }
            var involved = new JsonObject
            {
                ["apiVersion"] = r.Object.ApiVersion,
                ["kind"] = r.Object.Kind,
                ["name"] = r.Object.Name,
                ["namespace"] = r.Object.Namespace,
                ["uid"] = r.Object.Uid,
            };
            if (r.Object.FieldPath is not null) involved["fieldPath"] = r.Object.FieldPath;
            var ev = new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "Event",
                ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = r.Object.Namespace },
                ["involvedObject"] = involved,
                ["reason"] = r.Reason,
                ["message"] = r.Message,
                ["type"] = r.Type,
                ["count"] = 1,
                ["firstTimestamp"] = now,
                ["lastTimestamp"] = now,
                ["source"] = new JsonObject { ["component"] = "kubelet", ["host"] = nodeName },
                ["reportingComponent"] = "kubelet",
                ["reportingInstance"] = nodeName,
            };
            var self = Self;
            api.CreateAsync(ApiResource.Events, r.Object.Namespace, ev).ContinueWith(t =>
            {
                if (t.IsCompletedSuccessfully) self.Tell(new Written(key, name));
                else _log.Debug("event create failed: {0}", t.Exception?.GetBaseException().Message);
            }, TaskScheduler.Default);
        });
        Receive<Written>(w =>
        {
            if (_seen.TryGetValue(w.Key, out var e)) _seen[w.Key] = (w.Name, e.Count, e.Ns);
        });
    }

    public static Props Props(IKubeApi api, string nodeName, bool enabled) =>
        Akka.Actor.Props.Create(() => new EventRecorder(api, nodeName, enabled));
}
