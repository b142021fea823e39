using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.Security;
using static AkkaKube.Actors.Machinery.ApiServerProtocol;

namespace AkkaKube.Actors.ApiServer;

// Authentication of ServiceAccount tokens (JWTs this cluster signed): after the static token file, as Kubernetes orders it.
public static partial class ApiHttpFront
{
    private static readonly Dictionary<string, string> NoQuery = new();

    /// <summary>
    /// The ServiceAccount a bearer JWT authenticates, or null: a valid signature, issuer, audience and lifetime, and the
    /// bound ServiceAccount (and pod) still there with the uids in the token — a token dies with what it is bound to.
    /// </summary>
    private static async Task<UserInfo?> AuthenticateServiceAccountAsync(ApiFrontend frontend, string authorization, CancellationToken ct)
    {
        if (!frontend.Tokens.Enabled || !authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return null;
        var token = authorization["Bearer ".Length..].Trim();
        if (!ServiceAccountTokens.LooksLikeJwt(token)) return null;
        if (await frontend.Tokens.VerifyAsync(token, [ServiceAccountTokens.Issuer]) is not { } binding) return null;
        var pipeline = await frontend.PipelineAsync(ct);
        async Task<JsonObject?> Get(string resource, string name)
        {
            var response = await pipeline.HandleAsync(new ApiRequest("get", "", "v1", resource, binding.Namespace, name, null, NoQuery, null, null), ct);
            return response.Code == 200 ? JsonNode.Parse(response.Body) as JsonObject : null;
        }
        if (await Get("serviceaccounts", binding.Name) is not { } account || Meta.Field(account, "uid") != binding.Uid) return null;
        if (binding.PodName is { } podName &&
            (await Get("pods", podName) is not { } pod || Meta.Field(pod, "uid") != binding.PodUid || pod["metadata"]?["deletionTimestamp"] is not null))
            return null;
        return ServiceAccountTokens.UserOf(binding);
    }
}
