using System.Globalization;
using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer.Registry;
using AkkaKube.Actors.Machinery;
using k8s.Models;

namespace AkkaKube.Actors.ApiServer.Admission;

/// <summary>
/// The LimitRanger plugin's decisions, pure over JSON (Kubernetes' plugin/pkg/admission/limitranger): defaults from
/// a Container item's default (limits) and defaultRequest (requests) for what a container does not set, then min,
/// max and maxLimitRequestRatio per Container, per Pod (sums) and per PersistentVolumeClaim (storage), with
/// Kubernetes' messages.
/// </summary>
public static class LimitRangeLogic
{
    public const string Annotation = "kubernetes.io/limit-ranger";

    private static IEnumerable<JsonObject> Items(IEnumerable<JsonObject> ranges, string type) =>
        ranges.SelectMany(r => (r["spec"]?["limits"] as JsonArray)?.OfType<JsonObject>() ?? [])
            .Where(i => Meta.Str(i["type"]) == type);

    private static IEnumerable<JsonObject> Containers(JsonObject pod) =>
        new[] { "initContainers", "containers" }.SelectMany(k => (pod["spec"]?[k] as JsonArray)?.OfType<JsonObject>() ?? []);

    /// <summary>
    /// Sets the defaults of every Container item on the pod's containers (missing limits from default, missing
    /// requests from defaultRequest) and returns the kubernetes.io/limit-ranger annotation text, or null when
    /// nothing was set.
    /// </summary>
    public static string? ApplyDefaults(JsonObject pod, IEnumerable<JsonObject> ranges)
    {
        var items = Items(ranges, "Container").ToList();
        if (items.Count == 0) return null;
        var notes = new List<string>();
        foreach (var c in Containers(pod))
        {
            var resources = Meta.Obj(c, "resources");
            var setRequests = new List<string>();
            var setLimits = new List<string>();
            foreach (var item in items)
            {
                Fill(resources, "limits", item["default"] as JsonObject, setLimits);
                Fill(resources, "requests", item["defaultRequest"] as JsonObject, setRequests);
            }
            var name = Meta.Str(c["name"]);
            if (setRequests.Count > 0) notes.Add($"{string.Join(", ", setRequests)} request for container {name}");
            if (setLimits.Count > 0) notes.Add($"{string.Join(", ", setLimits)} limit for container {name}");
        }
        return notes.Count == 0 ? null : "LimitRanger plugin set: " + string.Join("; ", notes);
    }

    private static void Fill(JsonObject resources, string kind, JsonObject? defaults, List<string> set)
    {
        if (defaults is null || defaults.Count == 0) return;
        var target = resources[kind] as JsonObject;
        foreach (var (k, v) in defaults)
        {
            if (target?.ContainsKey(k) == true || v is null) continue;
            target ??= Meta.Obj(resources, kind);
            target[k] = v.DeepClone();
            set.Add(k);
        }
    }

    /// <summary>Every violation of the pod against the ranges' Container and Pod items (Kubernetes' order and wording).</summary>
    public static List<string> ValidatePod(JsonObject pod, IEnumerable<JsonObject> ranges)
    {
        var list = ranges.ToList();
        var errors = new List<string>();
        var containers = Containers(pod).ToList();
        foreach (var item in Items(list, "Container"))
            foreach (var c in containers)
                errors.AddRange(Check(item, "Container", c["resources"]?["requests"] as JsonObject, c["resources"]?["limits"] as JsonObject));
        foreach (var item in Items(list, "Pod"))
        {
            var (requests, limits) = PodTotals(pod);
            errors.AddRange(Check(item, "Pod", requests, limits));
        }
        return errors;
    }

    /// <summary>Violations of a claim's storage request against PersistentVolumeClaim items (min and max of requests.storage).</summary>
    public static List<string> ValidateClaim(JsonObject claim, IEnumerable<JsonObject> ranges)
    {
        var errors = new List<string>();
        var requests = claim["spec"]?["resources"]?["requests"] as JsonObject;
        foreach (var item in Items(ranges, "PersistentVolumeClaim"))
        {
            foreach (var (r, min) in item["min"] as JsonObject ?? [])
                if (Value(requests?[r]) is not { } v) errors.Add($"minimum {r} usage per PersistentVolumeClaim is {Show(min)}.  No request is specified");
                else if (v < Value(min)) errors.Add($"minimum {r} usage per PersistentVolumeClaim is {Show(min)}, but request is {Show(requests![r])}");
            foreach (var (r, max) in item["max"] as JsonObject ?? [])
                if (Value(requests?[r]) is not { } v) errors.Add($"maximum {r} usage per PersistentVolumeClaim is {Show(max)}.  No request is specified");
                else if (v > Value(max)) errors.Add($"maximum {r} usage per PersistentVolumeClaim is {Show(max)}, but request is {Show(requests![r])}");
        }
        return errors;
    }

    /// <summary>The pod's requests and limits summed over its containers, each init container counted as a floor (max).</summary>
    private static (JsonObject Requests, JsonObject Limits) PodTotals(JsonObject pod)
    {
        JsonObject Sum(string kind)
        {
            var total = new Dictionary<string, decimal>(StringComparer.Ordinal);
            foreach (var c in (pod["spec"]?["containers"] as JsonArray)?.OfType<JsonObject>() ?? [])
                foreach (var (k, v) in c["resources"]?[kind] as JsonObject ?? [])
                    total[k] = total.GetValueOrDefault(k) + (Value(v) ?? 0);
            foreach (var c in (pod["spec"]?["initContainers"] as JsonArray)?.OfType<JsonObject>() ?? [])
                foreach (var (k, v) in c["resources"]?[kind] as JsonObject ?? [])
                    total[k] = Math.Max(total.GetValueOrDefault(k), Value(v) ?? 0);
            var o = new JsonObject();
            foreach (var (k, v) in total) o[k] = v.ToString(CultureInfo.InvariantCulture);
            return o;
        }
        return (Sum("requests"), Sum("limits"));
    }

    private static IEnumerable<string> Check(JsonObject item, string type, JsonObject? requests, JsonObject? limits)
    {
        foreach (var (r, min) in item["min"] as JsonObject ?? [])
        {
            var (req, lim) = (Value(requests?[r]), Value(limits?[r]));
            if (req is null) yield return $"minimum {r} usage per {type} is {Show(min)}.  No request is specified";
            else if (req < Value(min)) yield return $"minimum {r} usage per {type} is {Show(min)}, but request is {Show(requests![r])}";
            else if (lim is not null && lim < Value(min)) yield return $"minimum {r} usage per {type} is {Show(min)}, but limit is {Show(limits![r])}";
        }
        foreach (var (r, max) in item["max"] as JsonObject ?? [])
        {
            var (req, lim) = (Value(requests?[r]), Value(limits?[r]));
            if (lim is null) yield return $"maximum {r} usage per {type} is {Show(max)}.  No limit is specified";
            else if (lim > Value(max)) yield return $"maximum {r} usage per {type} is {Show(max)}, but limit is {Show(limits![r])}";
            else if (req is not null && req > Value(max)) yield return $"maximum {r} usage per {type} is {Show(max)}, but request is {Show(requests![r])}";
        }
        foreach (var (r, ratio) in item["maxLimitRequestRatio"] as JsonObject ?? [])
        {
            var (req, lim) = (Value(requests?[r]), Value(limits?[r]));
            if (req is null or 0) yield return $"{r} max limit to request ratio per {type} is {Show(ratio)}, but no request is specified or request is 0";
            else if (lim is null or 0) yield return $"{r} max limit to request ratio per {type} is {Show(ratio)}, but no limit is specified or limit is 0";
            else if (lim / req > Value(ratio))
                yield return $"{r} max limit to request ratio per {type} is {Show(ratio)}, but provided ratio is {(double)(lim.Value / req.Value):F6}";
        }
    }

    private static decimal? Value(JsonNode? q) => q is null ? null : ResourceRequirements.Parse(q, out _);

    /// <summary>A quantity as Kubernetes prints it (canonical form: 0.5 → 500m).</summary>
    internal static string Show(JsonNode? q)
    {
        var text = q is JsonValue v && v.TryGetValue<string>(out var s) ? s : q?.ToJsonString() ?? "";
        try
        {
            return new ResourceQuantity(text).CanonicalizeString();
        }
        catch (FormatException)
        {
            return text;
        }
    }

    /// <summary>Kubernetes' error aggregate: one message alone, several as "[a, b]".</summary>
    public static string Aggregate(IReadOnlyList<string> errors) => errors.Count == 1 ? errors[0] : "[" + string.Join(", ", errors) + "]";
}

/// <summary>
/// LimitRanger: defaults a new pod's container resources from the namespace's LimitRanges (mutating, before the
/// pod's validation) and refuses pods and claims outside their min/max/ratio with 403 Forbidden (validating).
/// </summary>
public sealed class LimitRanger : IMutatingAdmissionPlugin, IValidatingAdmissionPlugin
{
    public string Name => "LimitRanger";

    private static bool Applies(AdmissionAttributes a) =>
        a.Namespace is not null && (a.Resource == ApiResource.Pods || a.Resource == ApiResource.PersistentVolumeClaims);

    public async Task AdmitAsync(AdmissionAttributes a, JsonObject obj)
    {
        if (!Applies(a) || a.Resource != ApiResource.Pods) return;
        var ranges = await a.ListAsync(ApiResource.LimitRanges, a.Namespace);
        if (ranges.Count == 0) return;
        if (LimitRangeLogic.ApplyDefaults(obj, ranges) is { } note)
            Meta.Obj(Meta.Obj(obj, "metadata"), "annotations")[LimitRangeLogic.Annotation] = note;
    }

    public async Task ValidateAsync(AdmissionAttributes a, JsonObject obj)
    {
        if (!Applies(a)) return;
        var ranges = await a.ListAsync(ApiResource.LimitRanges, a.Namespace);
        if (ranges.Count == 0) return;
        var errors = a.Resource == ApiResource.Pods ? LimitRangeLogic.ValidatePod(obj, ranges) : LimitRangeLogic.ValidateClaim(obj, ranges);
        if (errors.Count > 0) throw a.Forbidden(LimitRangeLogic.Aggregate(errors));
    }
}
