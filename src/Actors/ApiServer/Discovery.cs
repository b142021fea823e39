using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer.Registry;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.ApiServer;

/// <summary>
/// Discovery documents (aggregated v2 and legacy), /version and the minimal OpenAPI v3 documents kubectl needs,
/// all generated from the <see cref="ApiRegistry"/> (a kind registered at run time shows up at once).
/// </summary>
public sealed class Discovery(ApiRegistry registry)
{
    public const string AggregatedV2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
    public const string AggregatedV2Beta1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";

    /// <summary>The aggregated content type the Accept header asks for (v2 preferred), or null for legacy discovery.</summary>
    public static string? AggregatedTypeFor(string? accept)
    {
        if (accept is null) return null;
        var parts = accept.Split(',').Select(p => p.Replace(" ", "")).ToList();
        bool Asks(string v) => parts.Any(p => p.Contains("g=apidiscovery.k8s.io") && p.Contains($"v={v};") | p.EndsWith($"v={v}", StringComparison.Ordinal) && p.Contains("as=APIGroupDiscoveryList"));
        if (Asks("v2")) return AggregatedV2;
        if (Asks("v2beta1")) return AggregatedV2Beta1;
        return null;
    }

    public static JsonObject Version() => new()
    {
        ["major"] = "1",
        ["minor"] = "32",
        ["gitVersion"] = "v1.32.0-akkakube",
        ["gitCommit"] = "akkakube",
        ["gitTreeState"] = "clean",
        ["buildDate"] = "2026-01-01T00:00:00Z",
        ["goVersion"] = "dotnet" + Environment.Version,
        ["compiler"] = "dotnet",
        ["platform"] = "linux/amd64",
    };

    public JsonObject Aggregated(bool core, string contentType)
    {
        var apiVersion = contentType == AggregatedV2Beta1 ? "apidiscovery.k8s.io/v2beta1" : "apidiscovery.k8s.io/v2";
        var items = new JsonArray();
        foreach (var group in registry.Groups.Where(g => (g.Length == 0) == core))
        {
            var versions = new JsonArray();
            foreach (var version in registry.VersionsOf(group))
                versions.Add(new JsonObject { ["version"] = version, ["resources"] = AggregatedResources(group, version), ["freshness"] = "Current" });
            var meta = new JsonObject { ["creationTimestamp"] = null };
            if (group.Length > 0) meta["name"] = group;
            items.Add(new JsonObject { ["metadata"] = meta, ["versions"] = versions });
        }
        if (!core) items.Add(MetricsEndpoint.AggregatedGroup());
        return new JsonObject { ["kind"] = "APIGroupDiscoveryList", ["apiVersion"] = apiVersion, ["metadata"] = new JsonObject(), ["items"] = items };
    }

    private JsonArray AggregatedResources(string group, string version)
    {
        var resources = new JsonArray();
        foreach (var r in registry.All.Where(r => r.Group == group && r.Version == version))
        {
            var subs = new JsonArray();
            foreach (var s in r.Subresources)
                subs.Add(new JsonObject
                {
                    ["subresource"] = s.Name,
                    ["responseKind"] = new JsonObject { ["group"] = s.Group, ["version"] = s.Version, ["kind"] = s.Kind },
                    ["verbs"] = Arr(s.Verbs),
                });
            var entry = new JsonObject
            {
                ["resource"] = r.Resource,
                ["responseKind"] = new JsonObject { ["group"] = r.Group, ["version"] = r.Version, ["kind"] = r.Kind },
                ["scope"] = r.Namespaced ? "Namespaced" : "Cluster",
                ["singularResource"] = r.Singular,
                ["verbs"] = Arr(r.Verbs),
            };
            if (r.ShortNames.Count > 0) entry["shortNames"] = Arr(r.ShortNames);
            if (r.Categories.Count > 0) entry["categories"] = Arr(r.Categories);
            if (subs.Count > 0) entry["subresources"] = subs;
            resources.Add(entry);
        }
        return resources;
    }

    public static JsonObject LegacyApi(string serverAddress) => new()
    {
        ["kind"] = "APIVersions",
        ["versions"] = new JsonArray("v1"),
        ["serverAddressByClientCIDRs"] = new JsonArray(new JsonObject { ["clientCIDR"] = "0.0.0.0/0", ["serverAddress"] = serverAddress }),
    };

    public JsonObject LegacyApis()
    {
        var groups = new JsonArray();
        foreach (var g in registry.Groups.Where(g => g.Length > 0))
            groups.Add(GroupEntry(g));
        var metrics = MetricsEndpoint.LegacyGroup();
        groups.Add(new JsonObject { ["name"] = MetricsEndpoint.Group, ["versions"] = metrics["versions"]!.DeepClone(), ["preferredVersion"] = metrics["preferredVersion"]!.DeepClone() });
        return new JsonObject { ["kind"] = "APIGroupList", ["apiVersion"] = "v1", ["groups"] = groups };
    }

    /// <summary>An APIGroup: its versions, the first registered being the preferred one.</summary>
    private JsonObject GroupEntry(string group)
    {
        var versions = new JsonArray();
        foreach (var v in registry.VersionsOf(group)) versions.Add(new JsonObject { ["groupVersion"] = $"{group}/{v}", ["version"] = v });
        return new JsonObject { ["name"] = group, ["versions"] = versions, ["preferredVersion"] = versions[0]!.DeepClone() };
    }

    public JsonObject? LegacyGroup(string group)
    {
        if (!registry.Groups.Contains(group) || group.Length == 0) return null;
        var entry = GroupEntry(group);
        return new JsonObject { ["kind"] = "APIGroup", ["apiVersion"] = "v1", ["name"] = group, ["versions"] = entry["versions"]!.DeepClone(), ["preferredVersion"] = entry["preferredVersion"]!.DeepClone() };
    }

    public JsonObject? ResourceList(string group, string version)
    {
        if (!registry.IsServedGroupVersion(group, version)) return null;
        var resources = new JsonArray();
        foreach (var r in registry.All.Where(r => r.Group == group && r.Version == version))
        {
            var entry = new JsonObject
            {
                ["name"] = r.Resource,
                ["singularName"] = r.Singular,
                ["namespaced"] = r.Namespaced,
                ["kind"] = r.Kind,
                ["verbs"] = Arr(r.Verbs),
            };
            if (r.ShortNames.Count > 0) entry["shortNames"] = Arr(r.ShortNames);
            if (r.Categories.Count > 0) entry["categories"] = Arr(r.Categories);
            resources.Add(entry);
            foreach (var s in r.Subresources)
            {
                var sub = new JsonObject
                {
                    ["name"] = $"{r.Resource}/{s.Name}",
                    ["singularName"] = "",
                    ["namespaced"] = r.Namespaced,
                    ["kind"] = s.Kind,
                    ["verbs"] = Arr(s.Verbs),
                };
                if (s.Group != r.Group || s.Version != r.Version)
                {
                    sub["group"] = s.Group;
                    sub["version"] = s.Version;
                }
                resources.Add(sub);
            }
        }
        return new JsonObject
        {
            ["kind"] = "APIResourceList",
            ["apiVersion"] = "v1",
            ["groupVersion"] = group.Length == 0 ? version : $"{group}/{version}",
            ["resources"] = resources,
        };
    }

    private static JsonArray Arr(IEnumerable<string> items) => new(items.Select(i => (JsonNode?)JsonValue.Create(i)).ToArray());

    // ---------------- OpenAPI v3 ----------------

    /// <summary>"api/v1", "apis/apps/v1"… — the group-version paths of /openapi/v3.</summary>
    public IEnumerable<(string Path, string Group, string Version)> OpenApiGroupVersions() =>
        registry.All.Select(r => (r.Group.Length == 0 ? $"api/{r.Version}" : $"apis/{r.Group}/{r.Version}", r.Group, r.Version)).Distinct();

    public JsonObject OpenApiRoot()
    {
        var paths = new JsonObject();
        foreach (var (path, group, version) in OpenApiGroupVersions())
            paths[path] = new JsonObject { ["serverRelativeURL"] = $"/openapi/v3/{path}?hash={Hash(OpenApiDocument(group, version).ToJsonString())}" };
        return new JsonObject { ["paths"] = paths };
    }

    /// <summary>
    /// A minimal OpenAPI v3 document per group-version: for each kind, the item path with a `patch`
    /// operation carrying x-kubernetes-group-version-kind and the fieldValidation parameter, so kubectl
    /// trusts server-side field validation. Strategic merge is deliberately absent from requestBody.content:
    /// kubectl then computes patches from its built-in types.
    /// </summary>
    public JsonObject OpenApiDocument(string group, string version)
    {
        var paths = new JsonObject();
        var schemas = new JsonObject();
        foreach (var r in registry.All.Where(r => r.Group == group && r.Version == version))
        {
            var prefix = group.Length == 0 ? $"/api/{version}" : $"/apis/{group}/{version}";
            var item = r.Namespaced ? $"{prefix}/namespaces/{{namespace}}/{r.Resource}/{{name}}" : $"{prefix}/{r.Resource}/{{name}}";
            var gvk = new JsonObject { ["group"] = group, ["version"] = version, ["kind"] = r.Kind };
            var schemaName = $"io.akkakube.{(group.Length == 0 ? "core" : group)}.{version}.{r.Kind}";
            JsonObject Content(params string[] types)
            {
                var c = new JsonObject();
                foreach (var t in types) c[t] = new JsonObject { ["schema"] = new JsonObject { ["$ref"] = $"#/components/schemas/{schemaName}" } };
                return c;
            }
            JsonArray Params() => new(
                new JsonObject { ["name"] = "fieldValidation", ["in"] = "query", ["description"] = "Strict, Warn or Ignore", ["schema"] = new JsonObject { ["type"] = "string", ["uniqueItems"] = true } },
                new JsonObject { ["name"] = "dryRun", ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "string", ["uniqueItems"] = true } },
                new JsonObject { ["name"] = "fieldManager", ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "string", ["uniqueItems"] = true } });
            paths[item] = new JsonObject
            {
                ["get"] = new JsonObject
                {
                    ["operationId"] = $"read{r.Kind}",
                    ["x-kubernetes-action"] = "get",
                    ["x-kubernetes-group-version-kind"] = gvk.DeepClone(),
                    ["responses"] = new JsonObject { ["200"] = new JsonObject { ["description"] = "OK", ["content"] = Content("application/json") } },
                },
                ["put"] = new JsonObject
                {
                    ["operationId"] = $"replace{r.Kind}",
                    ["x-kubernetes-action"] = "put",
                    ["x-kubernetes-group-version-kind"] = gvk.DeepClone(),
                    ["parameters"] = Params(),
                    ["requestBody"] = new JsonObject { ["content"] = Content("*/*"), ["required"] = true },
                    ["responses"] = new JsonObject { ["200"] = new JsonObject { ["description"] = "OK", ["content"] = Content("application/json") } },
                },
                ["patch"] = new JsonObject
                {
                    ["operationId"] = $"patch{r.Kind}",
                    ["x-kubernetes-action"] = "patch",
                    ["x-kubernetes-group-version-kind"] = gvk.DeepClone(),
                    ["parameters"] = Params(),
                    ["requestBody"] = new JsonObject
                    {
                        ["content"] = new JsonObject
                        {
                            ["application/apply-patch+yaml"] = new JsonObject { ["schema"] = new JsonObject { ["type"] = "object" } },
                            ["application/json-patch+json"] = new JsonObject { ["schema"] = new JsonObject { ["type"] = "object" } },
                            ["application/merge-patch+json"] = new JsonObject { ["schema"] = new JsonObject { ["type"] = "object" } },
                        },
                        ["required"] = true,
                    },
                    ["responses"] = new JsonObject { ["200"] = new JsonObject { ["description"] = "OK", ["content"] = Content("application/json") } },
                },
            };
            schemas[schemaName] = new JsonObject
            {
                ["type"] = "object",
                ["description"] = $"{r.Kind} (AkkaKube serves a minimal schema; fields are validated by the server)",
                ["x-kubernetes-group-version-kind"] = new JsonArray(gvk.DeepClone()),
            };
        }
        return new JsonObject
        {
            ["openapi"] = "3.0.0",
            ["info"] = new JsonObject { ["title"] = "Kubernetes", ["version"] = "v1.32.0-akkakube" },
            ["paths"] = paths,
            ["components"] = new JsonObject { ["schemas"] = schemas },
        };
    }

    public static string Hash(string text) => Convert.ToHexString(SHA512.HashData(Encoding.UTF8.GetBytes(text)))[..32];
}
