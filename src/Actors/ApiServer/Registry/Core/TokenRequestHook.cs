using System.Globalization;
using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.Security;

namespace AkkaKube.Actors.ApiServer.Registry.Core;

/// <summary>
/// serviceaccounts/token (TokenRequest, `kubectl create token SA`): a signed JWT for the ServiceAccount, optionally
/// bound to a Pod of its namespace (spec.boundObjectRef) so it dies with the pod; audiences default to the issuer,
/// expirationSeconds to 3600 (at least 600, at most 48 h as Kubernetes' default maximum). Nothing is stored.
/// </summary>
internal sealed class TokenRequestHook : ISubresourceHook
{
    private static readonly ApiResource TokenRequests = new("authentication.k8s.io", "v1", "serviceaccounts/token", "TokenRequest", true);

    public string Verb => "create";

    public async Task<(int Code, JsonNode Body)> HandleAsync(ApiPipeline.RequestScope c, string name)
    {
        var tokens = c.Pipeline.Tokens is { Enabled: true } t ? t
            : throw new ApiException(503, "ServiceUnavailable", "this apiserver has no ServiceAccount signing key");
        var request = c.ParseObject("TokenRequest");
        var spec = request["spec"] as JsonObject ?? new JsonObject();
        var audiences = spec["audiences"] is JsonArray a && a.Count > 0 ? a.Select(x => Meta.Str(x)).ToList() : [ServiceAccountTokens.Issuer];
        var seconds = spec["expirationSeconds"] is JsonValue v && v.TryGetValue<long>(out var s) ? s : 3600;
        if (seconds < 600)
            throw ApiException.Invalid(TokenRequests, name, [new StatusCause("FieldValueInvalid", $"Invalid value: {seconds}: may not specify a duration less than 10 minutes", "spec.expirationSeconds")]);
        seconds = Math.Min(seconds, 48 * 3600);
        var account = await c.GetAsync(name);
        var binding = new ServiceAccountBinding(c.Ns ?? "", name, Meta.Field(account, "uid") ?? "");
        if (spec["boundObjectRef"] is JsonObject bound)
        {
            var kind = Meta.Str(bound["kind"]);
            if (kind != "Pod")
                throw ApiException.Invalid(TokenRequests, name, [new StatusCause("FieldValueNotSupported", $"Unsupported value: \"{kind}\": supported values: \"Pod\"", "spec.boundObjectRef.kind")]);
            var podName = Meta.Str(bound["name"]);
            var pod = await c.Pipeline.Get(ApiResource.Pods, c.Ns, podName, c.Ct);
            var podUid = Meta.Field(pod, "uid") ?? "";
            if (Meta.Str(bound["uid"]) is { Length: > 0 } wantUid && wantUid != podUid)
                throw new ApiException(409, "Conflict", $"the UID in the bound object reference ({wantUid}) does not match the UID in record. The object might have been deleted and then recreated");
            if (Meta.Str(pod["spec"]?["serviceAccountName"]) is { Length: > 0 } podAccount && podAccount != name)
                throw ApiException.BadRequest($"cannot bind a token to pod \"{podName}\" of service account \"{podAccount}\"");
            binding = binding with { PodName = podName, PodUid = podUid };
        }
        var (token, expires) = tokens.Issue(binding, audiences, TimeSpan.FromSeconds(seconds));
        spec["audiences"] = new JsonArray(audiences.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray());
        spec["expirationSeconds"] = seconds;
        request["spec"] = spec;
        request["apiVersion"] = "authentication.k8s.io/v1";
        request["kind"] = "TokenRequest";
        var meta = request["metadata"] as JsonObject ?? new JsonObject();
        meta["name"] = name;
        meta["namespace"] = c.Ns;
        meta["creationTimestamp"] = null;
        request["metadata"] = meta;
        request["status"] = new JsonObject
        {
            ["token"] = token,
            ["expirationTimestamp"] = expires.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        };
        return (201, request);
    }
}
