using System.Text.Json.Nodes;
using AkkaKube.Tests.Failover;
using AkkaKube.Tests.Infrastructure;
using AkkaKube.Tests.Kubectl;

namespace AkkaKube.Tests.Runtime;

/// <summary>
/// `akkakube up --runtime containerd` as a new user runs it: the worker's own containerd gets the project's images at
/// start (akkakube/pause for the sandboxes, akkakube/echo, akkakube/busybox), so `kubectl create deployment` of the echo
/// image runs real containers, each in its own network namespace with its own address from the worker's pod CIDR.
/// Needs root, containerd, runc, the CNI plugins and busybox-static; skips naming what is missing.
/// </summary>
public sealed class UpContainerdTests(UpContainerdTests.Cluster cluster) : IClassFixture<UpContainerdTests.Cluster>, IDisposable
{
    public sealed class Cluster : LocalCluster
    {
        public override int ControlPlanes => 1;
        public override int Workers => 1;
        public override string Runtime => "containerd";
        public override TimeSpan StartTimeout => TimeSpan.FromSeconds(240);
    }

    private readonly TempDir _kubectlDir = new();

    public void Dispose() => _kubectlDir.Dispose();

    [SkippableFact]
    public async Task A_deployment_of_the_echo_image_runs_in_containers_with_their_own_addresses_without_loading_any_image()
    {
        Skip.If(cluster.SkipReason is not null, cluster.SkipReason);
        Skip.If(KubectlRunner.KubectlPath is null, "kubectl is not on PATH");
        var kubectl = new KubectlRunner(_kubectlDir.Path);
        kubectl.UseKubeconfig(cluster.KubeconfigPath);

        var created = await kubectl.Run("create deployment web --image=akkakube/echo --replicas=2");
        Assert.True(created.Exit == 0, created.Err);
        var rolled = await kubectl.Run("rollout status deployment/web --timeout=180s", timeoutSeconds: 200);
        Assert.True(rolled.Exit == 0, rolled.Out + rolled.Err);

        var pods = JsonNode.Parse((await kubectl.Run("get pods -l app=web -o json")).Out)!["items"]!.AsArray();
        Assert.Equal(2, pods.Count);
        var worker = cluster.State.Nodes.Single(n => n.ContainerdDirectory is not null);
        var podCidr = JsonNode.Parse((await kubectl.Run($"get node {worker.Name} -o json")).Out)!["spec"]!["podCIDR"]!.GetValue<string>();
        var prefix = podCidr[..(podCidr.LastIndexOf('.') + 1)]; // a /24
        var ips = pods.Select(p => p!["status"]!["podIP"]!.GetValue<string>()).ToList();
        Assert.All(ips, ip => Assert.StartsWith(prefix, ip));
        Assert.Equal(2, ips.Distinct().Count());

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        foreach (var pod in pods)
        {
            var name = pod!["metadata"]!["name"]!.GetValue<string>();
            var ip = pod["status"]!["podIP"]!.GetValue<string>();
            // From the worker's host through its bridge: the echo server in the container answers with its own name and
            // address (once it listens: the deployment has no readiness probe, so Running comes before the .NET start-up).
            var body = "";
            await FailoverSupport.EventuallyAsync(async () =>
            {
                try { body = await http.GetStringAsync($"http://{ip}:8080/"); }
                catch (HttpRequestException) { return false; }
                return true;
            }, TimeSpan.FromSeconds(60), $"the echo server of {name} answering on {ip}:8080");
            Assert.Contains($"pod={name}", body);
            Assert.Contains($"ip={ip}", body);
            // … and inside: eth0 of its own network namespace holds that address.
            var addr = await kubectl.Run($"exec {name} -- ip addr show eth0");
            Assert.True(addr.Exit == 0, addr.Err);
            Assert.Contains($"inet {ip}/24", addr.Out);
        }

        string events = "";
        await FailoverSupport.EventuallyAsync(async () =>
        {
            events = (await kubectl.Run($"get events --field-selector involvedObject.name={pods[0]!["metadata"]!["name"]} -o jsonpath={{range.items[*]}}{{.reason}}:{{.message}}{{\"\\n\"}}{{end}}")).Out;
            return events.Contains("Started:", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(30), "the pod's Started event");
        Assert.Contains("Pulled:Container image \"akkakube/echo\" already present on machine", events);
    }
}
