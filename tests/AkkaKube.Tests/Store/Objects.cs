using System.Text.Json.Nodes;

namespace AkkaKube.Tests.Store;

/// <summary>Fluent test objects: <c>Objects.Pod("p").Namespace("ns").Label("app", "web").Json</c>.</summary>
public sealed class Objects
{
    private readonly JsonObject _o;

    private Objects(string kind, string apiVersion, string name)
    {
        _o = new JsonObject
        {
            ["kind"] = kind,
            ["apiVersion"] = apiVersion,
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "default" },
        };
    }

    public static Objects Pod(string name) => new Objects("Pod", "v1", name).Spec("containers", new JsonArray(new JsonObject { ["name"] = "c", ["image"] = "busybox" }));

    public static Objects ConfigMap(string name) => new("ConfigMap", "v1", name);

    public static Objects Node(string name) => new Objects("Node", "v1", name).Namespace(null);

    public static JsonObject Parse(string json) => (JsonObject)JsonNode.Parse(json)!;

    public static string Meta(string json, string field) => Parse(json)["metadata"]?[field]?.ToString() ?? "";

    public JsonObject Metadata => (JsonObject)_o["metadata"]!;

    public Objects Namespace(string? ns)
    {
        if (ns is null) Metadata.Remove("namespace");
        else Metadata["namespace"] = ns;
        return this;
    }

    public Objects Label(string key, string value)
    {
        if (Metadata["labels"] is not JsonObject labels) Metadata["labels"] = labels = new JsonObject();
        labels[key] = value;
        return this;
    }

    public Objects Finalizer(string f)
    {
        if (Metadata["finalizers"] is not JsonArray a) Metadata["finalizers"] = a = new JsonArray();
        a.Add(f);
        return this;
    }

    public Objects ResourceVersion(string rv)
    {
        Metadata["resourceVersion"] = rv;
        return this;
    }

    public Objects Spec(string field, JsonNode? value)
    {
        if (_o["spec"] is not JsonObject spec) _o["spec"] = spec = new JsonObject();
        spec[field] = value;
        return this;
    }

    public Objects Status(string field, JsonNode? value)
    {
        if (_o["status"] is not JsonObject status) _o["status"] = status = new JsonObject();
        status[field] = value;
        return this;
    }

    public Objects Data(string key, string value)
    {
        if (_o["data"] is not JsonObject data) _o["data"] = data = new JsonObject();
        data[key] = value;
        return this;
    }

    public string Json => _o.ToJsonString();

    public override string ToString() => Json;
}
