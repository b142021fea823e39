using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Prometheus;

namespace AkkaKube.Actors.ApiServer;

/// <summary>kube-apiserver's request metrics, with its names and labels, so dashboards made for Kubernetes work here.</summary>
public static class ApiServerMetrics
{
    private static readonly string[] RequestLabels = ["verb", "group", "version", "resource", "subresource", "scope", "component", "code"];

    public static readonly Counter Requests = Metrics.CreateCounter("apiserver_request_total",
        "Counter of apiserver requests broken out for each verb, group, version, resource, subresource, scope, component and HTTP response code.",
        RequestLabels);

    public static readonly Histogram RequestDuration = Metrics.CreateHistogram("apiserver_request_duration_seconds",
        "Response latency distribution in seconds for each verb, group, version, resource, subresource, scope and component (long-running requests excluded).",
        new HistogramConfiguration { LabelNames = ["verb", "group", "version", "resource", "subresource", "scope", "component"], Buckets = Observability.NodeMetrics.RequestBuckets });

    public static readonly Gauge Inflight = Metrics.CreateGauge("apiserver_current_inflight_requests",
        "Maximal number of currently used inflight request limit of this apiserver per request kind in last second.", "request_kind");

    public static readonly Gauge LongRunning = Metrics.CreateGauge("apiserver_longrunning_requests",
        "Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, scope and component.",
        "verb", "group", "version", "resource", "subresource", "scope", "component");

    public static readonly Counter WatchEvents = Metrics.CreateCounter("apiserver_watch_events_total",
        "Number of events sent in watch clients", "group", "version", "kind");

    /// <summary>One line for the watch loop: an event went to a watch client.</summary>
    public static void WatchEventSent(string group, string version, string kind) => WatchEvents.WithLabels(group, version, kind).Inc();

    /// <summary>Measures one HTTP request of the apiserver port (wraps the rest of the pipeline).</summary>
    public static async Task MeasureAsync(HttpContext ctx, Func<Task> next)
    {
        var info = ApiRequestInfo.Of(ctx.Request);
        var started = Stopwatch.GetTimestamp();
        IGauge gauge = info.LongRunning
            ? LongRunning.WithLabels(info.Verb, info.Group, info.Version, info.Resource, info.Subresource, info.Scope, "apiserver")
            : Inflight.WithLabels(info.Mutating ? "mutating" : "readOnly");
        gauge.Inc();
        try
        {
            await next();
        }
        finally
        {
            gauge.Dec();
            var code = ctx.RequestAborted.IsCancellationRequested && !ctx.Response.HasStarted ? "0" : ctx.Response.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Requests.WithLabels(info.Verb, info.Group, info.Version, info.Resource, info.Subresource, info.Scope, "apiserver", code).Inc();
            if (!info.LongRunning)
                RequestDuration.WithLabels(info.Verb, info.Group, info.Version, info.Resource, info.Subresource, info.Scope, "apiserver")
                    .Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }
}

/// <summary>
/// What Kubernetes' RequestInfoFactory derives from a request, reduced to the metric labels: the verb as kube-apiserver's
/// metrics spell it (GET, LIST, WATCH, POST, PUT, PATCH, APPLY, DELETE), group, version, resource, subresource and scope.
/// Non-resource paths (/version, /openapi/v3, …) have an empty resource.
/// </summary>
public sealed record ApiRequestInfo(string Verb, string Group, string Version, string Resource, string Subresource, string Scope, bool LongRunning)
{
    public bool Mutating => Verb is "POST" or "PUT" or "PATCH" or "APPLY" or "DELETE";

    public static ApiRequestInfo Of(HttpRequest request)
    {
        var method = request.Method.ToUpperInvariant();
        var segs = (request.Path.Value ?? "/").Split('/', StringSplitOptions.RemoveEmptyEntries);
        string group, version;
        int at;
        if (segs.Length >= 3 && segs[0] == "api") (group, version, at) = ("", segs[1], 2);
        else if (segs.Length >= 4 && segs[0] == "apis") (group, version, at) = (segs[1], segs[2], 3);
        else return new ApiRequestInfo(method, "", "", "", "", "", false);

        var rest = segs[at..];
        var scope = "cluster";
        if (rest.Length >= 3 && rest[0] == "namespaces" && !(rest.Length == 3 && rest[2] is "status" or "finalize"))
        {
            scope = "namespace";
            rest = rest[2..];
        }
        var resource = rest[0];
        var named = rest.Length >= 2;
        var subresource = rest.Length >= 3 ? rest[2] : "";
        if (named) scope = "resource";
        var watch = request.Query["watch"] is var w && (w == "true" || w == "1");
        var verb = method switch
        {
            "GET" or "HEAD" when watch => "WATCH",
            "GET" or "HEAD" when !named => "LIST",
            "PATCH" when request.ContentType?.StartsWith("application/apply-patch", StringComparison.OrdinalIgnoreCase) == true => "APPLY",
            _ => method,
        };
        var follow = subresource == "log" && request.Query["follow"] is var f && (f == "true" || f == "1");
        return new ApiRequestInfo(verb, group, version, resource, subresource, scope, verb == "WATCH" || follow);
    }
}
