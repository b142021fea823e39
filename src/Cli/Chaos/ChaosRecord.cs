using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace AkkaKube.Cli.Chaos;

/// <summary>
/// Leaves every chaos run in the cluster as a core/v1 Event (namespace default, reason ChaosRun, source akkakube-chaos):
/// firstTimestamp = the injection, lastTimestamp = recovery (or the timeout), annotations with the fault and the whole
/// report as JSON. The web view shades these windows on its timeline; `kubectl get events --field-selector reason=ChaosRun`
/// lists them. Best effort: a run whose record cannot be written (the API gone for good) says so in a note.
/// </summary>
public static class ChaosRecord
{
    public const string Reason = "ChaosRun";
    public const string Namespace = "default";
    public const string FaultAnnotation = "akkakube.io/chaos-fault";
    public const string RecoveredAnnotation = "akkakube.io/chaos-recovered";
    public const string ReportAnnotation = "akkakube.io/chaos-report";

    public static JsonObject Event(ChaosReport report)
    {
        var start = report.InjectedAt == default ? DateTime.UtcNow : report.InjectedAt;
        var end = start + TimeSpan.FromSeconds(report.RecoveredAfterSeconds ?? report.TimeoutSeconds);
        if (end > DateTime.UtcNow) end = DateTime.UtcNow;
        var target = report.Targets.FirstOrDefault();
        var name = $"chaos-{report.Fault}-{start:yyyyMMdd-HHmmss}-{Guid.NewGuid().ToString("N")[..6]}";
        var outcome = report.Recovered ? $"recovered in {report.RecoveredAfterSeconds:0.00} s" : $"NOT recovered within {report.TimeoutSeconds:0} s";
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Event",
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["namespace"] = Namespace,
                ["labels"] = new JsonObject { ["akkakube.io/chaos"] = "true" },
                ["annotations"] = new JsonObject
                {
                    [FaultAnnotation] = report.Fault,
                    [RecoveredAnnotation] = report.Recovered ? "true" : "false",
                    [ReportAnnotation] = report.ToJson(indented: false),
                },
            },
            ["involvedObject"] = target is null
                ? new JsonObject { ["kind"] = "Namespace", ["name"] = Namespace, ["apiVersion"] = "v1" }
                : new JsonObject { ["kind"] = "Node", ["name"] = target, ["apiVersion"] = "v1" },
            ["reason"] = Reason,
            ["message"] = $"chaos {report.Fault} {string.Join(",", report.Targets)}: {outcome}; API {report.ApiFailures}/{report.ApiProbes} probes failed",
            ["type"] = report.Recovered ? "Normal" : "Warning",
            ["firstTimestamp"] = start.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            ["lastTimestamp"] = end.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            ["count"] = 1,
            ["source"] = new JsonObject { ["component"] = "akkakube-chaos" },
            ["reportingComponent"] = "akkakube-chaos",
        };
    }

    public static async Task WriteAsync(string dataDirectory, ChaosReport report, CancellationToken ct)
    {
        var body = Event(report);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        string last = "";
        using var http = LocalClusterLauncher.ApiClient(Path.GetFullPath(dataDirectory), TimeSpan.FromSeconds(5));
        while (DateTime.UtcNow < deadline && !ct.IsCancellationRequested)
        {
            try
            {
                using var response = await http.PostAsJsonAsync($"/api/v1/namespaces/{Namespace}/events", body, ct);
                if (response.IsSuccessStatusCode)
                {
                    report.RecordedAs = $"{Namespace}/{body["metadata"]!["name"]}";
                    return;
                }
                last = $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}";
                if ((int)response.StatusCode is >= 400 and < 500 and not 429) break; // refused, not unavailable
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                last = e.Message;
            }
            await Task.Delay(500, ct);
        }
        report.Notes.Add($"the run's record (Event reason {Reason}) could not be written: {last}");
    }
}
