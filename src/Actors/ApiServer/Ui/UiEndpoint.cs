using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Cluster;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.Observability;
using AkkaKube.Actors.Security;
using AkkaKube.Actors.Security.Rbac;
using Microsoft.AspNetCore.Http;
using AkkaCluster = Akka.Cluster.Cluster;

namespace AkkaKube.Actors.ApiServer.Ui;

/// <summary>
/// The web view at /ui/ on the apiserver port. The page itself (HTML, JS, CSS embedded in this assembly) carries no
/// cluster data and is served to anyone who can reach the port, as a browser cannot attach a credential to a
/// navigation; every piece of data comes from authenticated calls the page makes with the bearer token it keeps in
/// sessionStorage: the API's own list + watch (nodes, pods, events) and the read-only /ui/api/ endpoints here
/// (control-plane placement, a node's actor tree), which RBAC authorizes as non-resource URLs. docs/operations.md#web-view.
/// </summary>
public static class UiEndpoint
{
    public const string Prefix = "/ui";
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(3);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static readonly Dictionary<string, (string Resource, string ContentType)> Assets = new(StringComparer.Ordinal)
    {
        ["/ui/"] = ("index.html", "text/html; charset=utf-8"),
        ["/ui/index.html"] = ("index.html", "text/html; charset=utf-8"),
        ["/ui/app.js"] = ("app.js", "text/javascript; charset=utf-8"),
        ["/ui/app.css"] = ("app.css", "text/css; charset=utf-8"),
    };

    private static readonly Dictionary<string, byte[]> Cache = Assets.Values.Select(a => a.Resource).Distinct()
        .ToDictionary(r => r, Load, StringComparer.Ordinal);

    public static bool Handles(PathString path) =>
        path.Value is { } p && (p == Prefix || p.StartsWith(Prefix + "/", StringComparison.Ordinal));

    public static async Task ServeAsync(HttpContext ctx, ActorSystem system, ApiAuthenticator authenticator)
    {
        var path = ctx.Request.Path.Value!;
        ctx.Response.Headers.XContentTypeOptions = "nosniff";
        ctx.Response.Headers["Referrer-Policy"] = "no-referrer";
        if (ctx.Request.Method is not ("GET" or "HEAD"))
            throw ApiException.MethodNotAllowed("the web view is read-only");
        if (path == Prefix)
        {
            ctx.Response.Redirect(Prefix + "/" + ctx.Request.QueryString, permanent: true);
            return;
        }
        if (Assets.TryGetValue(path, out var asset))
        {
            ctx.Response.StatusCode = 200;
            ctx.Response.ContentType = asset.ContentType;
            ctx.Response.Headers.CacheControl = "no-cache";
            // Only this origin's script and API: the token in sessionStorage never reaches another origin.
            ctx.Response.Headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
            var bytes = Cache[asset.Resource];
            ctx.Response.ContentLength = bytes.Length;
            if (ctx.Request.Method == "GET") await ctx.Response.Body.WriteAsync(bytes, ctx.RequestAborted);
            return;
        }
        if (!path.StartsWith(Prefix + "/api/", StringComparison.Ordinal)) throw ApiException.NotFound("the server could not find the requested resource");

        var user = authenticator.Authenticate(path, ctx.Connection.ClientCertificate, ctx.Request.Headers.Authorization.ToString());
        if (user is null || user.InGroup(UserInfo.UnauthenticatedGroup))
        {
            await WriteAsync(ctx, 401, ApiStatus.Failure(401, "Unauthorized", "Unauthorized"));
            return;
        }
        // A non-resource URL for RBAC, as kube-apiserver authorizes /metrics or /debug: system:masters may, and anyone a
        // (Cluster)Role grants `get` on nonResourceURLs ["/ui/api/*"] (docs/operations.md#web-view).
        var attributes = AuthorizationAttributes.ForPath(user, "get", path);
        if (!await RbacAuthorizer.Get(system).AuthorizeAsync(attributes, TimeSpan.FromSeconds(10), ctx.RequestAborted))
        {
            await WriteAsync(ctx, 403, ApiStatus.Failure(403, "Forbidden", attributes.ForbiddenMessage()));
            return;
        }
        switch (path[(Prefix.Length + "/api/".Length)..])
        {
            case "whoami":
                await WriteAsync(ctx, 200, new JsonObject { ["user"] = user.Name, ["groups"] = new JsonArray(user.Groups.Select(g => (JsonNode)g!).ToArray()) });
                return;
            case "placement":
                await WriteAsync(ctx, 200, await PlacementAsync(system, ctx.RequestAborted));
                return;
            case "actors":
                await WriteAsync(ctx, 200, await ActorsAsync(system, ctx.Request.Query, ctx.RequestAborted));
                return;
        }
        throw ApiException.NotFound("the server could not find the requested resource");
    }

    /// <summary>
    /// Every member as the cluster sees it, with its report when it answers: which singletons and store partitions it
    /// hosts, its failures and its apiserver's request totals. Unreachable members are listed without asking them.
    /// </summary>
    internal static async Task<JsonObject> PlacementAsync(ActorSystem system, CancellationToken ct)
    {
        var state = AkkaCluster.Get(system).State;
        var members = state.Members.OrderBy(m => m.Address.ToString(), StringComparer.Ordinal).ToList();
        var reports = await Task.WhenAll(members.Select(m => state.Unreachable.Contains(m) || m.Status != MemberStatus.Up
            ? Task.FromResult<NodeInspectorProtocol.NodeReport?>(null)
            : AskAsync(system, m.Address, new NodeInspectorProtocol.Inspect(0), ct)));
        var list = new JsonArray();
        var singletons = new JsonObject();
        var partitions = new JsonObject();
        for (var i = 0; i < members.Count; i++)
        {
            var m = members[i];
            var r = reports[i];
            var name = r?.NodeName ?? m.Address.Host ?? m.Address.ToString();
            var entry = JsonSerializer.SerializeToNode(r, Json)?.AsObject() ?? new JsonObject();
            entry.Remove("actors");
            entry.Remove("actorsTruncated");
            entry["nodeName"] = name;
            entry["address"] = m.Address.ToString();
            entry["status"] = m.Status.ToString();
            entry["reachable"] = !state.Unreachable.Contains(m);
            entry["answered"] = r is not null;
            entry["zone"] ??= AkkaKubeNames.Roles.ZoneOf(m.Roles) ?? "";
            entry["roles"] ??= new JsonArray(m.Roles.Where(x => !x.Contains(':')).Select(x => (JsonNode)x!).ToArray());
            list.Add(entry);
            foreach (var s in r?.Singletons ?? []) singletons[s] = name;
            foreach (var p in r?.StorePartitions ?? []) partitions[p] = name;
        }
        var leader = state.Leader;
        return new JsonObject
        {
            ["at"] = DateTime.UtcNow.ToString("O"),
            ["leader"] = leader?.ToString(),
            ["members"] = list,
            ["singletons"] = singletons,
            ["partitions"] = partitions,
        };
    }

    private static async Task<JsonObject> ActorsAsync(ActorSystem system, IQueryCollection query, CancellationToken ct)
    {
        var member = query["member"].ToString();
        var depth = int.TryParse(query["depth"], out var d) ? Math.Clamp(d, 1, 12) : 6;
        var state = AkkaCluster.Get(system).State;
        var target = state.Members.FirstOrDefault(m => m.Address.ToString() == member)
                     ?? throw ApiException.NotFound($"no cluster member '{member}'");
        if (state.Unreachable.Contains(target)) throw new ApiException(503, "ServiceUnavailable", $"member {member} is unreachable");
        var report = await AskAsync(system, target.Address, new NodeInspectorProtocol.Inspect(depth), ct)
                     ?? throw new ApiException(504, "Timeout", $"member {member} did not answer within {AskTimeout.TotalSeconds:0} s");
        return JsonSerializer.SerializeToNode(report, Json)!.AsObject();
    }

    private static async Task<NodeInspectorProtocol.NodeReport?> AskAsync(ActorSystem system, Address address, NodeInspectorProtocol.Inspect ask, CancellationToken ct)
    {
        try
        {
            return await system.ActorSelection($"{address}/user/{AkkaKubeNames.Actors.NodeInspector}")
                .Ask<NodeInspectorProtocol.NodeReport>(ask, AskTimeout, ct);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return null; // a member that does not answer in time is shown as not answering
        }
    }

    private static Task WriteAsync(HttpContext ctx, int code, JsonNode body)
    {
        ctx.Response.StatusCode = code;
        ctx.Response.ContentType = "application/json";
        ctx.Response.Headers.CacheControl = "no-store";
        return ctx.Response.WriteAsync(body.ToJsonString(), ctx.RequestAborted);
    }

    private static byte[] Load(string resource)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("AkkaKube.Ui." + resource)
                           ?? throw new InvalidOperationException($"embedded web view file {resource} is missing");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
