using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;
using k8s.Models;
using static AkkaKube.Actors.ApiServer.Registry.Validation;

namespace AkkaKube.Actors.ApiServer.Registry.AdmissionRegistration;

/// <summary>
/// validating- and mutatingwebhookconfigurations (admissionregistration.k8s.io/v1): stored and validated as
/// Kubernetes validates them (name, exactly one of url/service, sideEffects, admissionReviewVersions) so charts
/// that ship them apply; the apiserver does not call admission webhooks (docs/api.md, Not done).
/// </summary>
public sealed class WebhookConfigurationStrategy(bool mutating) : ResourceStrategy
{
    public override Type Model => mutating ? typeof(V1MutatingWebhookConfiguration) : typeof(V1ValidatingWebhookConfiguration);

    public override void Default(JsonObject obj)
    {
        foreach (var w in (obj["webhooks"] as JsonArray ?? []).OfType<JsonObject>())
        {
            w["failurePolicy"] ??= "Fail";
            w["matchPolicy"] ??= "Equivalent";
            w["timeoutSeconds"] ??= 10;
            w["namespaceSelector"] ??= new JsonObject();
            w["objectSelector"] ??= new JsonObject();
            if (mutating) w["reinvocationPolicy"] ??= "Never";
        }
    }

    public override IEnumerable<StatusCause> Validate(JsonObject obj)
    {
        var webhooks = (obj["webhooks"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        var names = new HashSet<string>();
        for (var i = 0; i < webhooks.Count; i++)
        {
            var w = webhooks[i];
            var path = $"webhooks[{i}]";
            var name = Meta.Str(w["name"]);
            if (name.Length == 0) yield return Required($"{path}.name");
            else if (!IsDns1123Subdomain(name) || name.Split('.').Length < 3)
                yield return Invalid($"{path}.name", name, "should be a domain with at least three segments separated by dots");
            else if (!names.Add(name)) yield return Duplicate($"{path}.name", name);
            var config = w["clientConfig"] as JsonObject;
            if ((config?["url"] is null) == (config?["service"] is null))
                yield return Required($"{path}.clientConfig", "Required value: exactly one of url or service is required");
            var sideEffects = Meta.Str(w["sideEffects"]);
            if (sideEffects is not ("None" or "NoneOnDryRun"))
                yield return sideEffects.Length == 0 ? Required($"{path}.sideEffects") : NotSupported($"{path}.sideEffects", sideEffects, "None", "NoneOnDryRun");
            if (w["admissionReviewVersions"] is not JsonArray { Count: > 0 } versions)
                yield return Required($"{path}.admissionReviewVersions", "Required value: must specify one of v1, v1beta1");
            else if (!versions.Any(v => Meta.Str(v) is "v1" or "v1beta1"))
                yield return Invalid($"{path}.admissionReviewVersions", string.Join(",", versions.Select(Meta.Str)), "must include at least one of v1, v1beta1");
        }
    }

    public override IReadOnlyList<TableColumn> Columns { get; } =
        [TableColumn.NameColumn, TableColumn.Of("Webhooks", o => Cells.Count(o["webhooks"]), type: "integer"), TableColumn.AgeColumn];
}
