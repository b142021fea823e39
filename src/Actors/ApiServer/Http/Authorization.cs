using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.Security;
using AkkaKube.Actors.Security.Rbac;
using Microsoft.AspNetCore.Http;

namespace AkkaKube.Actors.ApiServer;

// Authorization of every HTTP request (RBAC through RbacAuthorizer) and impersonation (Impersonate-* headers).
public static partial class ApiHttpFront
{
    /// <summary>kube-apiserver's --authorization-always-allow-paths default: health checks need no authorization.</summary>
    public static readonly IReadOnlyList<string> AlwaysAllowPaths = ["/healthz", "/readyz", "/livez"];

    private static readonly System.Text.RegularExpressions.Regex ExtraHeader = new("^Impersonate-Extra-(.+)$", System.Text.RegularExpressions.RegexOptions.IgnoreCase);

    /// <summary>The request's attributes for the authorizer (non-resource: lower-case method, HEAD as get).</summary>
    private static AuthorizationAttributes AttributesOf(RequestInfo info, HttpRequest request, string path, UserInfo user) =>
        info.IsResourceRequest
            ? AuthorizationAttributes.ForResource(user, info.Verb, info.Group, info.Resource, info.Subresource, info.Namespace, info.Name, request.Query["fieldSelector"].ToString())
            : AuthorizationAttributes.ForPath(user, request.Method == "HEAD" ? "get" : request.Method.ToLowerInvariant(), path);

    private static async Task AuthorizeAsync(HttpContext ctx, ApiFrontend frontend, RequestInfo info, string path, UserInfo user)
    {
        if (!info.IsResourceRequest && AlwaysAllowPaths.Any(p => path == p || path.StartsWith(p + "/", StringComparison.Ordinal))) return;
        if (info.IsResourceRequest && info.Verb.Length == 0) return; // refused as 405 by the router
        var audit = Audit.AuditContext.Of(ctx);
        try
        {
            await frontend.Authorizer.RequireAsync(AttributesOf(info, ctx.Request, path, user), frontend.Settings.StoreTimeout, ctx.RequestAborted);
            // A WebSocket exec/attach/portforward is a GET (verb get), but it runs something: it also needs `create`, as the
            // SPDY POST always did (Kubernetes' AuthorizePodWebsocketUpgradeCreatePermission, on by default since 1.35;
            // 1.32 checked only `get`).
            if (info is { IsResourceRequest: true, Verb: "get", Group: "", Resource: "pods", Subresource: "exec" or "attach" or "portforward" })
                await frontend.Authorizer.RequireAsync(AttributesOf(info with { Verb = "create" }, ctx.Request, path, user), frontend.Settings.StoreTimeout, ctx.RequestAborted);
        }
        catch (ApiException e) when (e.Code == 403 && audit is not null)
        {
            audit.Decision = "forbid";
            throw;
        }
        if (audit is not null) audit.Decision = "allow";
    }

    /// <summary>
    /// Impersonate-User / -Group / -Uid / -Extra-*: the caller acts as another user when it may `impersonate` each of
    /// them (users, groups, serviceaccounts, uids and userextras), as Kubernetes' impersonation filter does.
    /// </summary>
    private static async Task<UserInfo> ImpersonateAsync(HttpContext ctx, ApiFrontend frontend, UserInfo caller)
    {
        var headers = ctx.Request.Headers;
        var userName = headers["Impersonate-User"].ToString();
        var groups = headers["Impersonate-Group"].SelectMany(g => (g ?? "").Split(',')).Select(g => g.Trim()).Where(g => g.Length > 0).ToList();
        var uid = headers["Impersonate-Uid"].ToString();
        var extras = headers.Where(h => ExtraHeader.IsMatch(h.Key)).ToList();
        if (userName.Length == 0)
        {
            if (groups.Count > 0 || uid.Length > 0 || extras.Count > 0)
                throw ApiException.BadRequest("requested impersonation of groups, uid or extra without impersonating a user");
            return caller;
        }
        var wait = frontend.Settings.StoreTimeout;
        var ct = ctx.RequestAborted;
        async Task Check(string group, string resource, string? subresource, string? ns, string name)
        {
            var a = AuthorizationAttributes.ForResource(caller, "impersonate", group, resource, subresource, ns, name);
            if (!await frontend.Authorizer.AuthorizeAsync(a, wait, ct)) throw RbacAuthorizer.Forbidden(a);
        }
        var serviceAccount = ServiceAccountUser.Parse(userName);
        if (serviceAccount is { } sa) await Check("", "serviceaccounts", null, sa.Namespace, sa.Name);
        else await Check("", "users", null, null, userName);
        foreach (var g in groups) await Check("", "groups", null, null, g);
        if (uid.Length > 0) await Check("authentication.k8s.io", "uids", null, null, uid);
        foreach (var (key, values) in extras)
            foreach (var v in values)
                await Check("authentication.k8s.io", "userextras", Uri.UnescapeDataString(ExtraHeader.Match(key).Groups[1].Value).ToLowerInvariant(), null, v ?? "");

        var all = new List<string>(groups);
        if (serviceAccount is { } s)
        {
            all.Add(ServiceAccountUser.AllGroup);
            all.Add(ServiceAccountUser.NamespaceGroup(s.Namespace));
        }
        if (userName != UserInfo.Anonymous.Name) all = UserInfo.Authenticated(all).ToList();
        return new UserInfo(userName, all.Distinct(StringComparer.Ordinal).ToList(), uid);
    }
}
