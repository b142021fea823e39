using System.Text.RegularExpressions;
using AkkaKube.Cli;
using AkkaKube.Tests.Failover;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Hardening;

/// <summary>
/// A healthy cluster logs no ERROR and no stack trace from `up` to `down`: two control-plane nodes (one hosts the
/// singletons, one does not) and a worker (singleton proxies only), ordinary kubectl work, then every node stopped
/// as `akkakube down` stops it, and every node's log read.
/// </summary>
public sealed partial class CleanLogsTests(CleanLogsTests.Cluster cluster) : IClassFixture<CleanLogsTests.Cluster>
{
    public sealed class Cluster : LocalCluster
    {
        public override int ControlPlanes => 2;
        public override int Workers => 1;

        public Task<ProcessResult> KubectlAsync(params string[] args) =>
            ProcessRunner.RunAsync("kubectl", ["--cache-dir", Path.Combine(DataDirectory, "kubectl-cache"), .. args], TimeSpan.FromSeconds(90),
                env: new Dictionary<string, string> { ["KUBECONFIG"] = KubeconfigPath, ["HOME"] = DataDirectory });
    }

    private const string Manifests = """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          replicas: 2
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              terminationGracePeriodSeconds: 2
              containers:
              - name: echo
                image: akkakube/echo
                ports: [{name: http, containerPort: 8080}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: web}
        spec:
          selector: {app: web}
          ports: [{port: 8080, targetPort: http}]
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: settings}
        data: {greeting: hello}
        """;

    /// <summary>Lines a healthy node must not write: Microsoft.Extensions.Logging's error/critical levels, Akka's [ERROR], stack frames.</summary>
    [GeneratedRegex(@"^\S+ (fail|crit): |\[ERROR\]|^\s+at \S+\(|^\s+--- End of (inner exception )?stack trace", RegexOptions.Multiline)]
    private static partial Regex ErrorLine();

    [SkippableFact]
    public async Task A_healthy_cluster_logs_no_error_and_no_stack_trace_from_up_to_down()
    {
        Skip.If(KubectlRunnerPath() is null, "kubectl is not on PATH");
        var file = Path.Combine(cluster.DataDirectory, "web.yaml");
        await File.WriteAllTextAsync(file, Manifests);
        // The first write waits for its store partition to start; kubectl apply itself does not retry a 504.
        await FailoverSupport.EventuallyAsync(async () => (await cluster.KubectlAsync("apply", "-f", file)).ExitCode == 0,
            TimeSpan.FromSeconds(60), "kubectl apply of the web deployment");
        await FailoverSupport.EventuallyAsync(async () =>
                (await cluster.KubectlAsync("get", "deployment", "web", "-o", "jsonpath={.status.readyReplicas}")).Stdout == "2",
            TimeSpan.FromSeconds(90), "deployment web has 2 ready replicas");
        await Kubectl("get", "pods,svc,endpointslices,cm", "-o", "wide");
        await Kubectl("create", "secret", "generic", "token", "--from-literal=t=x");
        await Kubectl("label", "configmap", "settings", "tier=app");
        await Kubectl("scale", "deployment", "web", "--replicas=1");
        await Kubectl("rollout", "restart", "deployment", "web");
        await Kubectl("rollout", "status", "deployment", "web", "--timeout=90s");
        var pod = (await Kubectl("get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}")).Stdout;
        await Kubectl("logs", pod);
        await Kubectl("describe", "pod", pod);
        await Kubectl("delete", "-f", file, "--wait=true");
        await Kubectl("delete", "secret", "token");

        var down = DateTime.UtcNow;
        LocalClusterLauncher.Stop(cluster.State, TimeSpan.FromSeconds(30));

        var logs = Directory.GetFiles(Path.Combine(cluster.DataDirectory, "logs"), "*.log");
        Assert.Equal(3, logs.Length);
        var bad = logs.SelectMany(f => File.ReadLines(f).Where(l => ErrorLine().IsMatch(l) && !ShutdownDisassociation(l, down))
            .Select(l => $"{Path.GetFileName(f)}: {l}")).ToList();
        Assert.True(bad.Count == 0, "errors in a healthy cluster's logs:\n" + string.Join('\n', bad.Take(40)));
    }

    /// <summary>
    /// The one exemption, narrow and only after `down` began: Akka.NET's endpoint writer logs "Disassociated" as an
    /// ERROR with a stack trace when a peer's process exits while the association is still open; stopping nodes one
    /// at a time made it rare but not impossible (docs/decisions.md, Hardening). Anything else, and this line before
    /// `down`, fails the test.
    /// </summary>
    private static bool ShutdownDisassociation(string line, DateTime down) =>
        line.Contains("/endpointWriter] Disassociated Cause: Akka.Remote.EndpointDisassociatedException", StringComparison.Ordinal)
        && DateTime.TryParse(line.AsSpan(0, line.IndexOf(' ', StringComparison.Ordinal)), System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AdjustToUniversal, out var at)
        && at >= down.AddSeconds(-1);

    private static string? KubectlRunnerPath() => AkkaKube.Tests.Kubectl.KubectlRunner.KubectlPath;

    private async Task<ProcessResult> Kubectl(params string[] args)
    {
        var r = await cluster.KubectlAsync(args);
        Assert.True(r.ExitCode == 0, $"kubectl {string.Join(' ', args)}: {r.Output}");
        return r;
    }
}
