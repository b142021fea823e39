using System.Globalization;
using System.Text.Json.Nodes;
using AkkaKube.Actors.Client;

namespace AkkaKube.Actors.ApiServer;

/// <summary>
/// Server-side printing: meta.k8s.io/v1 Table responses with the columns kubectl users know
/// (priority 1 columns only show with -o wide). Rows carry PartialObjectMetadata.
/// </summary>
public static class Tables
{
    private sealed record Column(string Name, string Type, string Format, int Priority, string Description, Func<JsonObject, DateTime, JsonNode?> Cell);

    private static Column C(string name, Func<JsonObject, DateTime, JsonNode?> cell, int priority = 0, string type = "string", string format = "") =>
        new(name, type, format, priority, name, cell);

    private static readonly Column NameCol = new("Name", "string", "name", 0,
        "Name must be unique within a namespace.", (o, _) => S(o["metadata"]?["name"]));

    private static readonly Column AgeCol = new("Age", "string", "", 0,
        "CreationTimestamp is a timestamp representing the server time when this object was created.", (o, now) => Age(o["metadata"]?["creationTimestamp"], now));

    private static IReadOnlyList<Column> ColumnsFor(string kind) => kind switch
    {
        "Pod" =>
        [
            NameCol,
            C("Ready", (o, _) => PodReady(o)),
            C("Status", (o, _) => PodStatus(o)),
            C("Restarts", (o, _) => Restarts(o), type: "string"),
            AgeCol,
            C("IP", (o, _) => S(o["status"]?["podIP"]) is { Length: > 0 } ip ? ip : "<none>", 1),
            C("Node", (o, _) => S(o["spec"]?["nodeName"]) is { Length: > 0 } n ? n : "<none>", 1),
            C("Nominated Node", (o, _) => S(o["status"]?["nominatedNodeName"]) is { Length: > 0 } n ? n : "<none>", 1),
            C("Readiness Gates", (o, _) => ReadinessGates(o), 1),
        ],
        "Deployment" =>
        [
            NameCol,
            C("Ready", (o, _) => $"{I(o["status"]?["readyReplicas"])}/{I(o["spec"]?["replicas"])}"),
            C("Up-to-date", (o, _) => I(o["status"]?["updatedReplicas"]), type: "integer"),
            C("Available", (o, _) => I(o["status"]?["availableReplicas"]), type: "integer"),
            AgeCol,
            C("Containers", (o, _) => Containers(o["spec"]?["template"]?["spec"], "name"), 1),
            C("Images", (o, _) => Containers(o["spec"]?["template"]?["spec"], "image"), 1),
            C("Selector", (o, _) => Sel(o), 1),
        ],
        "ReplicaSet" =>
        [
            NameCol,
            C("Desired", (o, _) => I(o["spec"]?["replicas"]), type: "integer"),
            C("Current", (o, _) => I(o["status"]?["replicas"]), type: "integer"),
            C("Ready", (o, _) => I(o["status"]?["readyReplicas"]), type: "integer"),
            AgeCol,
            C("Containers", (o, _) => Containers(o["spec"]?["template"]?["spec"], "name"), 1),
            C("Images", (o, _) => Containers(o["spec"]?["template"]?["spec"], "image"), 1),
            C("Selector", (o, _) => Sel(o), 1),
        ],
        "Service" =>
        [
            NameCol,
            C("Type", (o, _) => S(o["spec"]?["type"])),
            C("Cluster-IP", (o, _) => S(o["spec"]?["clusterIP"]) is { Length: > 0 } ip ? ip : "<none>"),
            C("External-IP", (o, _) => ExternalIp(o)),
            C("Port(s)", (o, _) => ServicePorts(o)),
            AgeCol,
            C("Selector", (o, _) => o["spec"]?["selector"] is JsonObject sel && sel.Count > 0 ? string.Join(",", sel.Select(kv => $"{kv.Key}={S(kv.Value)}")) : "<none>", 1),
        ],
        "Node" =>
        [
            NameCol,
            C("Status", (o, _) => NodeStatus(o)),
            C("Roles", (o, _) => NodeRoles(o)),
            AgeCol,
            C("Version", (o, _) => S(o["status"]?["nodeInfo"]?["kubeletVersion"])),
            C("Internal-IP", (o, _) => NodeAddress(o, "InternalIP"), 1),
            C("External-IP", (o, _) => NodeAddress(o, "ExternalIP"), 1),
            C("OS-Image", (o, _) => Or(S(o["status"]?["nodeInfo"]?["osImage"]), "<unknown>"), 1),
            C("Kernel-Version", (o, _) => Or(S(o["status"]?["nodeInfo"]?["kernelVersion"]), "<unknown>"), 1),
            C("Container-Runtime", (o, _) => Or(S(o["status"]?["nodeInfo"]?["containerRuntimeVersion"]), "<unknown>"), 1),
        ],
        "Namespace" => [NameCol, C("Status", (o, _) => S(o["status"]?["phase"])), AgeCol],
        "ConfigMap" => [NameCol, C("Data", (o, _) => Count(o["data"]) + Count(o["binaryData"]), type: "string"), AgeCol],
        "Secret" => [NameCol, C("Type", (o, _) => S(o["type"])), C("Data", (o, _) => Count(o["data"]), type: "string"), AgeCol],
        "Event" =>
        [
            C("Last Seen", (o, now) => Age(o["lastTimestamp"] ?? o["eventTime"] ?? o["metadata"]?["creationTimestamp"], now)),
            C("Type", (o, _) => S(o["type"])),
            C("Reason", (o, _) => S(o["reason"])),
            C("Object", (o, _) => $"{S(o["involvedObject"]?["kind"]).ToLowerInvariant()}/{S(o["involvedObject"]?["name"])}"),
            C("Message", (o, _) => S(o["message"]).Trim()),
            C("Source", (o, _) => S(o["source"]?["component"]), 1),
            C("First Seen", (o, now) => Age(o["firstTimestamp"] ?? o["metadata"]?["creationTimestamp"], now), 1),
            C("Count", (o, _) => I(o["count"]) is var n && n > 0 ? n : 1, 1, "integer"),
            NameCol with { Priority = 1 },
        ],
        "Lease" => [NameCol, C("Holder", (o, _) => S(o["spec"]?["holderIdentity"])), AgeCol],
        "Endpoints" => [NameCol, C("Endpoints", (o, _) => EndpointsText(o)), AgeCol],
        "EndpointSlice" =>
        [
            NameCol,
            C("AddressType", (o, _) => S(o["addressType"])),
            C("Ports", (o, _) => o["ports"] is JsonArray ps && ps.Count > 0 ? string.Join(",", ps.Select(p => I(p?["port"]).ToString(CultureInfo.InvariantCulture))) : "<unset>"),
            C("Endpoints", (o, _) => SliceEndpoints(o)),
            AgeCol,
        ],
        "PodDisruptionBudget" =>
        [
            NameCol,
            C("Min Available", (o, _) => o["spec"]?["minAvailable"] is { } m ? Plain(m) : "N/A"),
            C("Max Unavailable", (o, _) => o["spec"]?["maxUnavailable"] is { } m ? Plain(m) : "N/A"),
            C("Allowed Disruptions", (o, _) => I(o["status"]?["disruptionsAllowed"]), type: "integer"),
            AgeCol,
        ],
        _ => [NameCol, AgeCol],
    };

    /// <summary>True when the Accept header asks for a meta.k8s.io Table.</summary>
    public static bool Wanted(string? accept) =>
        accept is not null && accept.Split(',').Any(part =>
        {
            var p = part.Replace(" ", "");
            return p.Contains("as=Table") && p.Contains("g=meta.k8s.io") && (p.Contains("v=v1;") || p.EndsWith("v=v1", StringComparison.Ordinal) || p.Contains("v=v1beta1"));
        });

    public static string ApiVersionFor(string? accept) =>
        accept is not null && accept.Split(',').FirstOrDefault(p => p.Contains("as=Table"))?.Contains("v=v1beta1") == true &&
        !accept.Split(',').Any(p => p.Contains("as=Table") && (p.Contains("v=v1;") || p.TrimEnd().EndsWith("v=v1", StringComparison.Ordinal)))
            ? "meta.k8s.io/v1beta1" : "meta.k8s.io/v1";

    /// <summary>A Table for a list or a single object, with metadata.resourceVersion (needed by `get -w`).</summary>
    public static JsonObject ToTable(ApiResource r, JsonNode body, string apiVersion = "meta.k8s.io/v1", bool includeObject = true)
    {
        var now = DateTime.UtcNow;
        var columns = ColumnsFor(r.Kind);
        var items = body["items"] is JsonArray list ? list.OfType<JsonObject>().ToList() : body is JsonObject one ? [one] : [];
        var rows = new JsonArray();
        foreach (var item in items) rows.Add(Row(item, columns, now, includeObject));
        var meta = new JsonObject();
        var rv = body["metadata"]?["resourceVersion"];
        if (rv is not null) meta["resourceVersion"] = rv.DeepClone();
        if (body["metadata"]?["continue"] is { } cont) meta["continue"] = cont.DeepClone();
        if (body["metadata"]?["remainingItemCount"] is { } rem) meta["remainingItemCount"] = rem.DeepClone();
        var defs = new JsonArray();
        foreach (var c in columns)
            defs.Add(new JsonObject { ["name"] = c.Name, ["type"] = c.Type, ["format"] = c.Format, ["description"] = c.Description, ["priority"] = c.Priority });
        return new JsonObject
        {
            ["kind"] = "Table",
            ["apiVersion"] = apiVersion,
            ["metadata"] = meta,
            ["columnDefinitions"] = defs,
            ["rows"] = rows,
        };
    }

    private static JsonObject Row(JsonObject item, IReadOnlyList<Column> columns, DateTime now, bool includeObject)
    {
        var cells = new JsonArray();
        foreach (var c in columns)
        {
            JsonNode? cell;
            try
            {
                cell = c.Cell(item, now);
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException or KeyNotFoundException)
            {
                cell = "<unknown>";
            }
            cells.Add(cell);
        }
        var row = new JsonObject { ["cells"] = cells };
        if (includeObject)
        {
            var meta = item["metadata"]?.DeepClone() as JsonObject ?? new JsonObject();
            meta.Remove("managedFields");
            row["object"] = new JsonObject { ["kind"] = "PartialObjectMetadata", ["apiVersion"] = "meta.k8s.io/v1", ["metadata"] = meta };
        }
        return row;
    }

    // ---------------- cell helpers ----------------

    private static string S(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : "";
    private static string Or(string s, string fallback) => s.Length > 0 ? s : fallback;

    private static long I(JsonNode? n) => n is JsonValue v && v.TryGetValue<long>(out var l) ? l : 0;

    private static string Plain(JsonNode n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : n.ToJsonString();

    private static int Count(JsonNode? n) => n is JsonObject o ? o.Count : 0;

    public static string Age(JsonNode? timestamp, DateTime now)
    {
        if (timestamp is not JsonValue v || !v.TryGetValue<string>(out var s) ||
            !DateTime.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t))
            return "<unknown>";
        return HumanDuration(now - t);
    }

    /// <summary>kubectl's duration.HumanDuration.</summary>
    public static string HumanDuration(TimeSpan d)
    {
        var seconds = (long)d.TotalSeconds;
        if (seconds < -1) return "<invalid>";
        if (seconds < 0) return "0s";
        if (seconds < 60 * 2) return $"{seconds}s";
        var minutes = seconds / 60;
        if (minutes < 10) return seconds % 60 == 0 ? $"{minutes}m" : $"{minutes}m{seconds % 60}s";
        if (minutes < 60 * 3) return $"{minutes}m";
        var hours = minutes / 60;
        if (hours < 8) return minutes % 60 == 0 ? $"{hours}h" : $"{hours}h{minutes % 60}m";
        if (hours < 48) return $"{hours}h";
        if (hours < 24 * 8) return hours % 24 == 0 ? $"{hours / 24}d" : $"{hours / 24}d{hours % 24}h";
        if (hours < 24 * 365 * 2) return $"{hours / 24}d";
        if (hours < 24 * 365 * 8) return (hours / 24) % 365 == 0 ? $"{hours / 24 / 365}y" : $"{hours / 24 / 365}y{(hours / 24) % 365}d";
        return $"{hours / 24 / 365}y";
    }

    private static string PodReady(JsonObject o)
    {
        var total = (o["spec"]?["containers"] as JsonArray)?.Count ?? 0;
        var ready = (o["status"]?["containerStatuses"] as JsonArray)?.Count(cs => cs?["ready"] is JsonValue r && r.TryGetValue<bool>(out var b) && b) ?? 0;
        return $"{ready}/{total}";
    }

    private static string PodStatus(JsonObject o)
    {
        if (o["metadata"]?["deletionTimestamp"] is not null) return "Terminating";
        var reason = S(o["status"]?["reason"]);
        var phase = S(o["status"]?["phase"]);
        var status = reason.Length > 0 ? reason : phase.Length > 0 ? phase : "Pending";
        if (o["status"]?["containerStatuses"] is JsonArray statuses)
            foreach (var cs in statuses.Reverse())
            {
                var waiting = S(cs?["state"]?["waiting"]?["reason"]);
                var terminated = S(cs?["state"]?["terminated"]?["reason"]);
                if (waiting.Length > 0) return waiting;
                if (terminated.Length > 0 && status != "Succeeded") return terminated;
            }
        return status;
    }

    private static string Restarts(JsonObject o)
    {
        var total = (o["status"]?["containerStatuses"] as JsonArray)?.Sum(cs => I(cs?["restartCount"])) ?? 0;
        return total.ToString(CultureInfo.InvariantCulture);
    }

    private static string ReadinessGates(JsonObject o)
    {
        if (o["spec"]?["readinessGates"] is not JsonArray gates || gates.Count == 0) return "<none>";
        var conditions = o["status"]?["conditions"] as JsonArray ?? [];
        var ok = gates.Count(g => conditions.Any(c => S(c?["type"]) == S(g?["conditionType"]) && S(c?["status"]) == "True"));
        return $"{ok}/{gates.Count}";
    }

    private static string Containers(JsonNode? podSpec, string field) =>
        podSpec?["containers"] is JsonArray cs ? string.Join(",", cs.Select(c => S(c?[field]))) : "";

    private static string Sel(JsonObject o)
    {
        var s = Selectors.Format(o["spec"]?["selector"] as JsonObject);
        return s.Length > 0 ? s : "<none>";
    }

    private static string ExternalIp(JsonObject o)
    {
        var type = S(o["spec"]?["type"]);
        var external = (o["spec"]?["externalIPs"] as JsonArray)?.Select(S).ToList() ?? [];
        if (type == "ExternalName") return S(o["spec"]?["externalName"]);
        if (type == "LoadBalancer")
        {
            var ing = (o["status"]?["loadBalancer"]?["ingress"] as JsonArray)?.Select(i => S(i?["ip"]) is { Length: > 0 } ip ? ip : S(i?["hostname"])).ToList() ?? [];
            var all = ing.Concat(external).ToList();
            return all.Count > 0 ? string.Join(",", all) : "<pending>";
        }
        return external.Count > 0 ? string.Join(",", external) : "<none>";
    }

    private static string ServicePorts(JsonObject o)
    {
        if (o["spec"]?["ports"] is not JsonArray ports || ports.Count == 0) return "<none>";
        return string.Join(",", ports.Select(p =>
        {
            var np = I(p?["nodePort"]);
            var proto = S(p?["protocol"]) is { Length: > 0 } pr ? pr : "TCP";
            return np > 0 ? $"{I(p?["port"])}:{np}/{proto}" : $"{I(p?["port"])}/{proto}";
        }));
    }

    private static string NodeStatus(JsonObject o)
    {
        var ready = (o["status"]?["conditions"] as JsonArray)?.FirstOrDefault(c => S(c?["type"]) == "Ready");
        var status = ready is null ? "Unknown" : S(ready["status"]) == "True" ? "Ready" : "NotReady";
        if (o["spec"]?["unschedulable"] is JsonValue u && u.TryGetValue<bool>(out var b) && b) status += ",SchedulingDisabled";
        return status;
    }

    private static string NodeRoles(JsonObject o)
    {
        var roles = new List<string>();
        if (o["metadata"]?["labels"] is JsonObject labels)
            foreach (var (k, v) in labels)
            {
                if (k.StartsWith("node-role.kubernetes.io/", StringComparison.Ordinal)) roles.Add(k["node-role.kubernetes.io/".Length..]);
                else if (k == "kubernetes.io/role") roles.Add(S(v));
            }
        return roles.Count > 0 ? string.Join(",", roles.Order(StringComparer.Ordinal)) : "<none>";
    }

    private static string NodeAddress(JsonObject o, string type) =>
        (o["status"]?["addresses"] as JsonArray)?.FirstOrDefault(a => S(a?["type"]) == type) is { } a ? S(a["address"]) : "<none>";

    private static string EndpointsText(JsonObject o)
    {
        var list = new List<string>();
        if (o["subsets"] is JsonArray subsets)
            foreach (var s in subsets)
            {
                var ports = (s?["ports"] as JsonArray)?.Select(p => I(p?["port"])).ToList() ?? [];
                foreach (var a in (s?["addresses"] as JsonArray) ?? [])
                    list.AddRange(ports.Count == 0 ? [S(a?["ip"])] : ports.Select(p => $"{S(a?["ip"])}:{p}"));
            }
        if (list.Count == 0) return "<none>";
        return list.Count > 3 ? string.Join(",", list.Take(3)) + $" + {list.Count - 3} more..." : string.Join(",", list);
    }

    private static string SliceEndpoints(JsonObject o)
    {
        var list = (o["endpoints"] as JsonArray)?.SelectMany(e => (e?["addresses"] as JsonArray)?.Select(S) ?? []).ToList() ?? [];
        if (list.Count == 0) return "<unset>";
        return list.Count > 3 ? string.Join(",", list.Take(3)) + $" + {list.Count - 3} more..." : string.Join(",", list);
    }
}
