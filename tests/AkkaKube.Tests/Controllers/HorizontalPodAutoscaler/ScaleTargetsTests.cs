using System.Text.Json.Nodes;
using AkkaKube.Actors.Controllers.HorizontalPodAutoscaler;

namespace AkkaKube.Tests.Controllers.HorizontalPodAutoscaler;

/// <summary>How an HPA's scaleTargetRef maps to a resource: built-ins from the caches, custom resources through their definitions.</summary>
public sealed class ScaleTargetsTests
{
    /// <summary>A CustomResourceDefinition as the apiserver stores it (names accepted unless said otherwise).</summary>
    public static JsonObject Crd(string group, string kind, string plural, string scope = "Namespaced", bool accepted = true,
        params (string Name, bool Served, bool Storage, bool Scale)[] versions) => new()
    {
        ["apiVersion"] = "apiextensions.k8s.io/v1", ["kind"] = "CustomResourceDefinition",
        ["metadata"] = new JsonObject { ["name"] = $"{plural}.{group}" },
        ["spec"] = new JsonObject
        {
            ["group"] = group, ["scope"] = scope,
            ["names"] = new JsonObject { ["kind"] = kind, ["plural"] = plural, ["singular"] = kind.ToLowerInvariant(), ["listKind"] = kind + "List" },
            ["versions"] = new JsonArray([.. versions.Select(v => (JsonNode)new JsonObject
            {
                ["name"] = v.Name, ["served"] = v.Served, ["storage"] = v.Storage,
                ["schema"] = new JsonObject { ["openAPIV3Schema"] = new JsonObject { ["type"] = "object", ["x-kubernetes-preserve-unknown-fields"] = true } },
                ["subresources"] = v.Scale
                    ? new JsonObject
                    {
                        ["status"] = new JsonObject(),
                        ["scale"] = new JsonObject { ["specReplicasPath"] = ".spec.size", ["statusReplicasPath"] = ".status.size", ["labelSelectorPath"] = ".status.selector" },
                    }
                    : new JsonObject { ["status"] = new JsonObject() },
            })]),
        },
        ["status"] = new JsonObject
        {
            ["conditions"] = new JsonArray(new JsonObject { ["type"] = "NamesAccepted", ["status"] = accepted ? "True" : "False" }),
        },
    };

    private static readonly JsonObject[] Definitions =
    [
        Crd("example.com", "Widget", "widgets", versions: [("v1", true, true, true), ("v1beta1", true, false, false)]),
        Crd("example.com", "Plain", "plains", versions: [("v1", true, true, false)]),
        Crd("example.com", "Global", "globals", scope: "Cluster", versions: [("v1", true, true, true)]),
        Crd("example.com", "Pending", "pendings", accepted: false, versions: [("v1", true, true, true)]),
        Crd("other.io", "Widget", "widgets", versions: [("v2", true, true, true)]),
    ];

    public static TheoryData<string, string?, string, string?, string?> Cases => new()
    {
        // case, apiVersion, kind, expected resource (qualified/version, "cache:" when read from the informers), expected failure fragment
        { "a Deployment is a built-in read from the caches", "apps/v1", "Deployment", "cache:deployments.apps/v1", null },
        { "a ReplicationController is in the core group", "v1", "ReplicationController", "cache:replicationcontrollers/v1", null },
        { "no apiVersion matches a built-in by kind", null, "StatefulSet", "cache:statefulsets.apps/v1", null },
        { "a built-in kind in another group is not the built-in", "extensions/v1beta1", "Deployment", null, "no matches for kind \"Deployment\" in group \"extensions\"" },
        { "a custom resource with a scale subresource", "example.com/v1", "Widget", "widgets.example.com/v1", null },
        { "the group picks between two kinds of the same name", "other.io/v2", "Widget", "widgets.other.io/v2", null },
        { "a version the definition does not serve falls back to its storage version", "example.com/v9", "Widget", "widgets.example.com/v1", null },
        { "a served version without scale is refused", "example.com/v1beta1", "Widget", null, "declares no scale subresource for version v1beta1" },
        { "a definition without a scale subresource", "example.com/v1", "Plain", null, "the server could not find the requested resource (plains.example.com/scale)" },
        { "a cluster-scoped custom resource", "example.com/v1", "Global", null, "globals.example.com is cluster-scoped" },
        { "a definition whose names are not accepted is not served", "example.com/v1", "Pending", null, "no matches for kind \"Pending\"" },
        { "an unknown kind", "example.com/v1", "Gadget", null, "no matches for kind \"Gadget\" in group \"example.com\"" },
        { "a malformed apiVersion", "a/b/c", "Widget", null, "unexpected GroupVersion string: a/b/c" },
        { "no kind", "apps/v1", "", null, "scaleTargetRef.kind is empty" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Scale_target_references_resolve_as_Kubernetes_maps_them(string @case, string? apiVersion, string kind, string? expected, string? failure)
    {
        var result = ScaleTargets.Resolve(apiVersion, kind, Definitions);
        if (expected is null)
        {
            Assert.True(result.Target is null, $"{@case}: resolved to {result.Target}");
            Assert.True(result.Failure?.Contains(failure!, StringComparison.Ordinal) == true, $"{@case}: failure was \"{result.Failure}\"");
            return;
        }
        Assert.True(result.Target is not null, $"{@case}: {result.Failure}");
        var got = $"{(result.Target!.FromCache ? "cache:" : "")}{result.Target.Resource.QualifiedName}/{result.Target.Resource.Version}";
        Assert.True(expected == got, $"{@case}: expected {expected}, got {got}");
        Assert.True(result.Target.Resource.Namespaced, @case);
        Assert.NotNull(result.Target.Resource.FindSubresource("scale"));
    }
}
