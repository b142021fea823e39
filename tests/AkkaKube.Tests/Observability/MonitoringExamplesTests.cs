using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AkkaKube.Tests.Cli;
using Prometheus;

namespace AkkaKube.Tests.Observability;

/// <summary>
/// examples/monitoring (Prometheus scrape config, Grafana dashboard) parse and name only metrics the nodes export, and
/// docs/metrics.md documents every metric the code declares.
/// </summary>
public sealed partial class MonitoringExamplesTests
{
    private static readonly string Root = PublishTests.RepoRoot();

    /// <summary>Every metric the code declares: the static prometheus-net collectors of the actors assembly.</summary>
    private static IReadOnlySet<string> DeclaredMetrics()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var type in typeof(Actors.AkkaKubeNames).Assembly.GetTypes())
            foreach (var field in type.GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static))
                if (typeof(Collector).IsAssignableFrom(field.FieldType) && !type.ContainsGenericParameters && field.GetValue(null) is Collector c)
                    names.Add(c.Name);
        return names;
    }

    /// <summary>Metric names in a PromQL expression: identifiers followed by a selector, a range or the end, not functions or labels.</summary>
    private static IEnumerable<string> MetricsIn(string promql)
    {
        var withoutStrings = Regex.Replace(promql, "\"[^\"]*\"", "\"\"");
        var withoutGrouping = Regex.Replace(withoutStrings, @"\b(by|without)\s*\([^)]*\)", "");
        var withoutSelectors = Regex.Replace(withoutGrouping, @"\{[^}]*\}", "{}");
        foreach (Match m in Identifier().Matches(withoutSelectors))
        {
            var name = m.Value;
            if (PromQlWords.Contains(name)) continue;
            yield return Regex.Replace(name, "_(bucket|sum|count)$", "");
        }
    }

    private static readonly HashSet<string> PromQlWords = new(StringComparer.Ordinal)
    {
        "sum", "max", "min", "avg", "count", "rate", "irate", "increase", "histogram_quantile", "by", "without", "le", "on", "ignoring", "and", "or", "unless", "topk", "bottomk", "label_values",
    };

    [GeneratedRegex(@"(?<![\w""$.])[a-zA-Z_:][a-zA-Z0-9_:]*(?=\s*(\{|\[|\)|$|\s|==|/|\*|\+|-))")]
    private static partial Regex Identifier();

    [Fact]
    public void Grafana_dashboard_parses_and_every_query_names_declared_metrics()
    {
        var declared = DeclaredMetrics();
        Assert.Contains("apiserver_request_total", declared);
        var dashboard = JsonNode.Parse(File.ReadAllText(Path.Combine(Root, "examples", "monitoring", "grafana-dashboard.json")))!.AsObject();
        Assert.Equal("akkakube-cluster", (string?)dashboard["uid"]);
        var exprs = dashboard["panels"]!.AsArray().SelectMany(p => p!["targets"]!.AsArray()).Select(t => (string)t!["expr"]!).ToList();
        Assert.True(exprs.Count >= 20, $"only {exprs.Count} queries");
        var fromProcess = new[] { "process_cpu_seconds_total", "process_resident_memory_bytes" };
        var used = exprs.SelectMany(MetricsIn).Distinct().ToList();
        foreach (var metric in used)
            Assert.True(declared.Contains(metric) || fromProcess.Contains(metric), $"the dashboard queries '{metric}', which no node exports");
        foreach (var must in new[] { "akka_cluster_members", "apiserver_request_total", "apiserver_request_duration_seconds", "scheduler_pending_pods", "workqueue_depth", "kubelet_running_pods", "akkakube_store_commit_duration_seconds" })
            Assert.Contains(must, used);
    }

    [Fact]
    public void Prometheus_config_parses_and_reads_the_targets_file_up_writes()
    {
        var yaml = new YamlDotNet.Serialization.Deserializer().Deserialize<Dictionary<string, object>>(File.ReadAllText(Path.Combine(Root, "examples", "monitoring", "prometheus.yml")));
        var job = Assert.Single((List<object>)yaml["scrape_configs"]);
        var config = (Dictionary<object, object>)job;
        Assert.Equal("/metrics", config["metrics_path"]);
        var files = ((List<object>)((Dictionary<object, object>)((List<object>)config["file_sd_configs"])[0])["files"]).Cast<string>().ToList();
        Assert.Contains(files, f => f.EndsWith("/" + AkkaKube.Cli.PrometheusTargets.FileName, StringComparison.Ordinal));
    }

    [Fact]
    public void Docs_document_every_declared_metric()
    {
        var doc = File.ReadAllText(Path.Combine(Root, "docs", "metrics.md"));
        foreach (var metric in DeclaredMetrics())
            Assert.True(doc.Contains($"`{metric}`", StringComparison.Ordinal), $"docs/metrics.md does not document `{metric}`");
    }
}
