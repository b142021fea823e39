using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace AkkaKube.Actors.ApiServer;

// Non-resource endpoints: /, /version, health, /openapi and the discovery documents (/api, /apis, group and group-version roots).
public static partial class ApiHttpFront
{
    private static async Task ServeNonResourceAsync(HttpContext ctx, ApiFrontend frontend, string[] segs, string serverAddress)
    {
        var isGet = ctx.Request.Method is "GET" or "HEAD";
        var discovery = new Discovery(frontend.Registry);
        if (segs.Length == 0) { RequireGet(isGet); await WriteJson(ctx, 200, RootPaths(frontend)); return; }
        switch (segs[0])
        {
            case "version" when segs.Length == 1:
                RequireGet(isGet);
                await WriteJson(ctx, 200, Discovery.Version());
                return;
            case "healthz" or "readyz" or "livez":
                RequireGet(isGet);
                ctx.Response.StatusCode = 200;
                ctx.Response.ContentType = "text/plain; charset=utf-8";
                await ctx.Response.WriteAsync("ok");
                return;
            case ".well-known" when segs is [_, "openid-configuration"] && frontend.Tokens.Enabled:
                RequireGet(isGet);
                await WriteJson(ctx, 200, Security.ServiceAccountTokens.DiscoveryDocument());
                return;
            case "openid" when segs is [_, "v1", "jwks"] && frontend.Tokens.Enabled:
                RequireGet(isGet);
                await WriteJson(ctx, 200, frontend.Tokens.Jwks());
                return;
            case "openapi":
                RequireGet(isGet);
                await OpenApi.OpenApiEndpoint.ServeAsync(ctx, segs, frontend.Registry);
                return;
            case "api" when segs.Length == 1:
                RequireGet(isGet);
                if (Discovery.AggregatedTypeFor(ctx.Request.Headers.Accept) is { } t) await WriteJson(ctx, 200, discovery.Aggregated(true, t), t);
                else await WriteJson(ctx, 200, Discovery.LegacyApi(serverAddress));
                return;
            case "api" when segs.Length == 2:
                RequireGet(isGet);
                await WriteJson(ctx, 200, discovery.ResourceList("", segs[1]) ?? throw NotFoundPath());
                return;
            case "apis" when segs.Length == 1:
                RequireGet(isGet);
                if (Discovery.AggregatedTypeFor(ctx.Request.Headers.Accept) is { } t2) await WriteJson(ctx, 200, discovery.Aggregated(false, t2), t2);
                else await WriteJson(ctx, 200, discovery.LegacyApis());
                return;
            case "apis" when segs.Length == 2:
                RequireGet(isGet);
                await WriteJson(ctx, 200, discovery.LegacyGroup(segs[1]) ?? throw NotFoundPath());
                return;
            case "apis" when segs.Length == 3:
                RequireGet(isGet);
                await WriteJson(ctx, 200, discovery.ResourceList(segs[1], segs[2]) ?? throw NotFoundPath());
                return;
        }
        throw NotFoundPath();
    }

    private static JsonObject RootPaths(ApiFrontend frontend)
    {
        var paths = new JsonArray("/.well-known/openid-configuration", "/api", "/api/v1", "/apis", "/healthz", "/livez", "/openapi/v2", "/openapi/v3", "/openid/v1/jwks", "/readyz", "/version");
        foreach (var g in frontend.Registry.Groups.Where(g => g.Length > 0))
        {
            paths.Add($"/apis/{g}");
            foreach (var v in frontend.Registry.VersionsOf(g)) paths.Add($"/apis/{g}/{v}");
        }
        paths.Add($"/apis/{MetricsEndpoint.Group}");
        paths.Add($"/apis/{MetricsEndpoint.GroupVersion}");
        return new JsonObject { ["paths"] = paths };
    }
}
