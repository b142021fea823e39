using AkkaKube.Actors.Security;
using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer.Registry;
using AkkaKube.Actors.Machinery;
using Microsoft.AspNetCore.Http;
using static AkkaKube.Actors.Machinery.ApiServerProtocol;

namespace AkkaKube.Actors.ApiServer;

/// <summary>
/// What a request path and method address (Kubernetes' RequestInfo): a non-resource path, or a resource request
/// with verb, group, version, namespace, resource, name and subresource.
/// </summary>
public sealed record RequestInfo(bool IsResourceRequest, string[] Segments, string Verb, string Group, string Version,
    string? Namespace, string Resource, string? Name, string? Subresource)
{
    /// <summary>
    /// Parses /api/v1/…, /apis/&lt;group&gt;/&lt;version&gt;/…: [namespaces/&lt;ns&gt;/]&lt;resource&gt;[/&lt;name&gt;[/&lt;subresource&gt;]].
    /// Anything else (including group and version roots) is a non-resource request.
    /// </summary>
    public static RequestInfo Parse(string path, string method, bool watch)
    {
        var segs = path.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).ToArray();
        RequestInfo NonResource() => new(false, segs, method, "", "", null, "", null, null);
        int rest;
        string group, version;
        if (segs.Length >= 3 && segs[0] == "api") (group, version, rest) = ("", segs[1], 2);
        else if (segs.Length >= 4 && segs[0] == "apis") (group, version, rest) = (segs[1], segs[2], 3);
        else return NonResource();

        var r = segs[rest..];
        string? ns = null, name = null, sub = null;
        if (r[0] == "namespaces" && r.Length >= 3 && !(r.Length == 3 && r[2] is "status" or "finalize"))
        {
            ns = r[1];
            r = r[2..];
        }
        if (r.Length > 3) throw ApiHttpFront.NotFoundPath();
        var resource = r[0];
        if (r.Length >= 2) name = r[1];
        if (r.Length == 3) sub = r[2];
        var verb = method switch
        {
            "GET" when watch && name is null => "watch",
            "GET" when name is null => "list",
            "GET" => "get",
            "POST" => "create",
            "PUT" => "update",
            "PATCH" => "patch",
            "DELETE" when name is null => "deletecollection",
            "DELETE" => "delete",
            _ => "", // refused once the group-version is known to be served
        };
        return new(true, segs, verb, group, version, ns, resource, name, sub);
    }
}

public static partial class ApiHttpFront
{
    private static async Task RouteAsync(HttpContext ctx, ApiFrontend frontend, string serverAddress, UserInfo user)
    {
        var query = ctx.Request.Query.ToDictionary(kv => kv.Key, kv => kv.Value.ToString());
        var watch = query.TryGetValue("watch", out var w) && w is "true" or "1";
        var path = ctx.Request.Path.Value ?? "/";
        var segs = path.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).ToArray();
        var info = RequestInfo.Parse(path, ctx.Request.Method, watch);
        if (Audit.AuditContext.Of(ctx) is { } audit) audit.Info = info;
        await AuthorizeAsync(ctx, frontend, info, path, user);
        if (segs.Length >= 2 && segs[0] == "apis" && segs[1] == MetricsEndpoint.Group)
        {
            // metrics.k8s.io (`kubectl top`): served here from the kubelets' samples (MetricsEndpoint.cs).
            await WriteJson(ctx, 200, await MetricsEndpoint.HandleAsync(frontend.System, ctx.Request.Method, segs, query, ctx.RequestAborted));
            return;
        }
        if (!info.IsResourceRequest)
        {
            await ServeNonResourceAsync(ctx, frontend, info.Segments, serverAddress);
            return;
        }
        if (!frontend.Registry.IsServedGroupVersion(info.Group, info.Version)) throw NotFoundPath();
        if (info.Verb.Length == 0)
            throw ApiException.MethodNotAllowed($"the server does not allow this method on the requested resource ({ctx.Request.Method})");
        await ServeResourceAsync(ctx, frontend, info, query, user);
    }

    /// <summary>A resource request: streamed subresources (pods/log), watches, or one pipeline call and its response.</summary>
    private static async Task ServeResourceAsync(HttpContext ctx, ApiFrontend frontend, RequestInfo info, Dictionary<string, string> query, UserInfo user)
    {
        // the resource is resolved before the body is decoded: an unserved resource is 404 whatever the body
        var registration = frontend.Registry.Find(info.Group, info.Version, info.Resource) ?? throw ApiException.NotFound(
            $"the server could not find the requested resource ({info.Resource}.{(info.Group.Length == 0 ? info.Version : $"{info.Group}/{info.Version}")})");
        if (info is { Namespace: not null, Name: not null, Subresource: { } sub } && registration is not null &&
            registration.Strategy.HttpSubresources.TryGetValue(sub, out var streamed) && streamed.Verbs.Contains(info.Verb))
        {
            await streamed.ServeAsync(ctx, frontend.System, info.Namespace, info.Name, query);
            return;
        }

        var (contentType, body, warnings) = await ReadBody(ctx, frontend, info.Verb);
        var audit = Audit.AuditContext.Of(ctx);
        if (audit is not null) (audit.RequestContentType, audit.RequestBody) = (contentType, body);
        var pipeline = await frontend.PipelineAsync(ctx.RequestAborted);

        if (info.Verb == "watch")
        {
            await WatchAsync(ctx, frontend, pipeline, info, query, user);
            return;
        }

        var request = new ApiRequest(info.Verb, info.Group, info.Version, info.Resource, info.Namespace, info.Name, info.Subresource, query, contentType, body) { User = user };
        var response = await pipeline.HandleAsync(request, ctx.RequestAborted);
        if (audit is not null) audit.ResponseBody = response.Body;
        foreach (var warning in warnings.Concat(response.Warnings ?? []))
            ctx.Response.Headers.Append("Warning", $"299 - \"{warning.Replace("\"", "\\\"")}\"");

        var accept = ctx.Request.Headers.Accept.ToString();
        if (response.Code == 200 && info.Verb is "get" or "list" && info.Subresource is null or "status" && Tables.Wanted(accept) &&
            registration is not null && JsonNode.Parse(response.Body) is { } parsed && Meta.Str(parsed["kind"]) != "Status")
        {
            var includeObject = !accept.Contains("includeObject=None", StringComparison.Ordinal);
            await WriteJson(ctx, 200, Tables.ToTable(registration.Strategy.Columns, parsed, Tables.ApiVersionFor(accept), includeObject));
            return;
        }
        await WriteRaw(ctx, response.Code, response.Body);
    }

    private static void RequireGet(bool isGet)
    {
        if (!isGet) throw ApiException.MethodNotAllowed("the server does not allow this method on the requested resource");
    }

    internal static ApiException NotFoundPath() => ApiException.NotFound("the server could not find the requested resource");
}
