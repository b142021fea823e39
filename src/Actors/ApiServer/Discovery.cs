using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer.Registry;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.ApiServer;

/// <summary>
/// Discovery documents (aggregated v2 and legacy) and /version (OpenAPI is generated in OpenApi/),
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
}
