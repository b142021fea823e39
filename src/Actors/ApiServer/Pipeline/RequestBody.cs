using System.Text.Json;
using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer.Registry;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.ApiServer;

// Body decoding and the admission steps shared by create, update and patch.
public sealed partial class ApiPipeline
{

    private static JsonNode ParseBody(RequestScope c)
    {
        var body = c.Req.Body;
        if (string.IsNullOrWhiteSpace(body)) throw ApiException.BadRequest("the request body is empty");
        var mediaType = (c.Req.ContentType ?? "application/json").Split(';')[0].Trim().ToLowerInvariant();
        var yaml = mediaType is "application/yaml" or "application/apply-patch+yaml" or "text/yaml" or "application/x-yaml";
        try
        {
            return JsonNode.Parse(body, documentOptions: new JsonDocumentOptions { MaxDepth = 100 })
                   ?? throw ApiException.BadRequest("the request body is null");
        }
        catch (JsonException e) when (yaml)
        {
            _ = e;
            return YamlJson.Parse(body);
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest($"the request body is not valid JSON: {e.Message.Split('\n')[0]}");
        }
    }

    internal static JsonObject ParseObject(RequestScope c, string? expectKind = null)
    {
        var node = ParseBody(c);
        if (node is not JsonObject obj) throw ApiException.BadRequest("the request body must be a JSON object");
        var kind = expectKind ?? c.R.Kind;
        var apiVersion = expectKind is null ? c.R.ApiVersion : null;
        var gotVersion = obj["apiVersion"];
        var gotKind = obj["kind"];
        if (gotVersion is not null && (gotVersion is not JsonValue || gotVersion.GetValueKind() != JsonValueKind.String))
            throw ApiException.BadRequest("apiVersion must be a string");
        if (gotKind is not null && (gotKind is not JsonValue || gotKind.GetValueKind() != JsonValueKind.String))
            throw ApiException.BadRequest("kind must be a string");
        var v = gotVersion?.GetValue<string>();
        var k = gotKind?.GetValue<string>();
        if (apiVersion is not null && v is not null && v != apiVersion)
            throw ApiException.BadRequest($"the API version in the data ({v}) does not match the expected API version ({apiVersion})");
        if (k is not null && k != kind)
            throw ApiException.BadRequest($"the kind in the data ({k}) does not match the expected kind ({kind}) for {c.R.Resource}");
        if (obj["metadata"] is { } m && m is not JsonObject) throw ApiException.BadRequest("metadata must be an object");
        if (apiVersion is not null)
        {
            obj["apiVersion"] = apiVersion;
            obj["kind"] = kind;
            // keep apiVersion/kind first, as Kubernetes prints them
            var reordered = new JsonObject { ["apiVersion"] = apiVersion, ["kind"] = kind };
            foreach (var (key, value) in obj.ToList())
                if (key is not ("apiVersion" or "kind")) { obj.Remove(key); reordered[key] = value; }
            return reordered;
        }
        return obj;
    }

    /// <summary>Fills or checks metadata.namespace against the URL (a mismatch is 400, as Kubernetes).</summary>
    private static void CheckNamespace(RequestScope c, JsonObject obj)
    {
        var meta = Meta.Of(obj);
        var bodyNs = Meta.Field(obj, "namespace");
        if (!c.R.Namespaced)
        {
            meta.Remove("namespace");
            return;
        }
        if (c.Ns is null) throw ApiException.BadRequest("a namespace is required in the URL for namespaced resources");
        if (!string.IsNullOrEmpty(bodyNs) && bodyNs != c.Ns)
            throw ApiException.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
        meta["namespace"] = c.Ns;
    }

    /// <summary>fieldValidation=Strict → unknown fields are 400; Warn (default) → warning headers; Ignore → dropped silently.</summary>
    private static void FieldValidation(RequestScope c, JsonObject obj)
    {
        var mode = c.Q("fieldValidation") ?? "Warn";
        if (mode is not ("Strict" or "Warn" or "Ignore"))
            throw ApiException.BadRequest($"fieldValidation must be one of Ignore, Warn, Strict (got \"{mode}\")");
        var unknown = c.Strategy.UnknownFields(obj, c.R.Kind);
        if (unknown.Count == 0) return;
        if (mode == "Strict")
            throw ApiException.BadRequest("strict decoding error: " + string.Join(", ", unknown.Select(u => $"unknown field \"{u}\"")));
        if (mode == "Warn")
            c.Warnings.AddRange(unknown.Select(u => $"unknown field \"{u}\""));
        TypedFields.Prune(obj, unknown);
    }

    /// <summary>The partial subresource the request writes through (pods/ephemeralcontainers), or null.</summary>
    private static Registry.IPartialSubresource? PartialOf(RequestScope c) =>
        c.Req.Subresource is { } s && c.Strategy.PartialSubresources.TryGetValue(s, out var p) ? p : null;

    private static void Validate(RequestScope c, JsonObject obj, JsonObject? old)
    {
        var causes = c.Strategy.ValidateWrite(obj, old, statusUpdate: c.Req.Subresource == "status", partial: PartialOf(c));
        if (causes.Count > 0) throw ApiException.Invalid(c.R, Meta.Field(obj, "name") ?? "", causes);
    }

    private async Task CheckNamespaceExists(RequestScope c)
    {
        if (!c.R.Namespaced || c.Ns is null) return;
        if (Namespaces?.KnownActive(c.Ns) == true) return; // the informer shows it active: no store round trip
        var ns = await TryGet(ApiResource.Namespaces, null, c.Ns, c.Ct)
                 ?? throw ApiException.ResourceNotFound(ApiResource.Namespaces, c.Ns);
        if (ns["metadata"]?["deletionTimestamp"] is not null)
            throw new ApiException(403, "Forbidden",
                $"{c.R.Resource} \"{Meta.Field(ns, "name")}\" is forbidden: unable to create new content in namespace {c.Ns} because it is being terminated",
                ApiException.DetailsFor(c.R, null));
    }
}
