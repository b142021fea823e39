using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AkkaKube.Actors.Observability;

/// <summary>
/// /livez, /readyz and /healthz with kube-apiserver's semantics: 200 "ok" when every check passes; otherwise 500 and one
/// line per check ("[+]ping ok", "[-]store failed: reason withheld"); ?verbose lists every check (and, unlike
/// Kubernetes, the reason of a failed one: the checks here reveal nothing secret and operators want it); ?exclude=NAME
/// skips a check; /readyz/NAME runs one. /livez runs the "livez" checks, /readyz the "readyz" ones plus `shutdown`
/// (failing from the moment the node begins to stop), /healthz all of them.
/// </summary>
public sealed class HealthEndpoints(HealthCheckService checks, IHostApplicationLifetime lifetime, ILogger<HealthEndpoints> log)
{
    public static bool IsHealthPath(PathString path, out string endpoint, out string? single)
    {
        endpoint = "";
        single = null;
        var segs = (path.Value ?? "").Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segs.Length is < 1 or > 2 || segs[0] is not ("livez" or "readyz" or "healthz")) return false;
        endpoint = segs[0];
        if (segs.Length == 2) single = segs[1];
        return true;
    }

    public async Task ServeAsync(HttpContext ctx, string endpoint, string? single)
    {
        if (ctx.Request.Method is not ("GET" or "HEAD"))
        {
            ctx.Response.StatusCode = 405;
            return;
        }
        var verbose = ctx.Request.Query.ContainsKey("verbose");
        var excluded = ctx.Request.Query["exclude"].Where(e => !string.IsNullOrEmpty(e)).ToHashSet(StringComparer.Ordinal);
        var results = await RunAsync(endpoint, ctx.RequestAborted);
        if (single is not null)
        {
            var one = results.FirstOrDefault(r => r.Name == single);
            if (one.Name is null)
            {
                await Write(ctx, 404, $"no such check: {single}\n");
                return;
            }
            await Write(ctx, one.Ok ? 200 : 500, one.Ok ? "ok" : $"internal server error: {one.Name} failed: {one.Reason}\n");
            return;
        }

        var shown = results.Where(r => !excluded.Contains(r.Name)).ToList();
        var failed = shown.Where(r => !r.Ok).ToList();
        foreach (var f in failed) log.LogInformation("{Endpoint} check {Check} failed: {Reason}", endpoint, f.Name, f.Reason);
        if (failed.Count == 0 && !verbose)
        {
            await Write(ctx, 200, "ok");
            return;
        }
        var body = new StringBuilder();
        foreach (var r in shown)
            body.Append(r.Ok ? $"[+]{r.Name} ok\n" : $"[-]{r.Name} failed: {(verbose ? r.Reason : "reason withheld")}\n");
        foreach (var e in excluded.Order(StringComparer.Ordinal))
            body.Append($"[+]{e} excluded: ok\n");
        body.Append(failed.Count == 0 ? $"{endpoint} check passed\n" : $"{endpoint} check failed\n");
        await Write(ctx, failed.Count == 0 ? 200 : 500, body.ToString());
    }

    /// <summary>The checks of one endpoint, in registration order: (name, passed, reason).</summary>
    public async Task<IReadOnlyList<(string Name, bool Ok, string Reason)>> RunAsync(string endpoint, CancellationToken ct)
    {
        var report = await checks.CheckHealthAsync(r => endpoint == "healthz" || r.Tags.Contains(endpoint), ct);
        var results = report.Entries
            .Select(e => (Name: e.Key, Ok: e.Value.Status == HealthStatus.Healthy,
                Reason: e.Value.Status == HealthStatus.Healthy ? e.Value.Description ?? "" : e.Value.Description ?? e.Value.Exception?.Message ?? e.Value.Status.ToString()))
            .ToList();
        if (endpoint != "livez")
        {
            var stopping = lifetime.ApplicationStopping.IsCancellationRequested;
            results.Add(("shutdown", !stopping, stopping ? "the node is shutting down" : "not shutting down"));
        }
        return results;
    }

    private static async Task Write(HttpContext ctx, int code, string body)
    {
        ctx.Response.StatusCode = code;
        ctx.Response.ContentType = "text/plain; charset=utf-8";
        ctx.Response.Headers["X-Content-Type-Options"] = "nosniff";
        ctx.Response.Headers.CacheControl = "no-cache, private";
        if (ctx.Request.Method != "HEAD") await ctx.Response.WriteAsync(body, ctx.RequestAborted);
    }
}
