using System.Text.Json.Nodes;
using AkkaKube.Tests.Kubectl;
using AkkaKube.Cli;
using AkkaKube.Actors.PodNetwork;
using AkkaKube.Tests.Failover;
using AkkaKube.Tests.Infrastructure;
using Xunit.Abstractions;

namespace AkkaKube.Tests.Cli;

/// <summary>`up --hosts netns`: 3 control planes + 2 workers, each node process in its own network namespace on one bridge.</summary>
public class NetnsCluster : LocalCluster
{
    public override int ControlPlanes => 3;
    public override int Workers => 2;
    public override string Hosts => "netns";
    // Not the default range: a user's `up --hosts netns` on this machine keeps working while the tests run.
    // AKKAKUBE_TEST_NETNS_CIDR moves it, so two checkouts can run the netns tests side by side.
    public override string HostsCidr => Environment.GetEnvironmentVariable("AKKAKUBE_TEST_NETNS_CIDR") is { Length: > 0 } cidr ? cidr : "198.19.0.0/16";
    public override TimeSpan StartTimeout => TimeSpan.FromSeconds(180);

    /// <summary>The first two octets of <see cref="HostsCidr"/> ("198.19." by default): node addresses are PREFIX0.n.</summary>
    public string Prefix => string.Join('.', HostsCidr.Split('/')[0].Split('.').Take(2)) + ".";
}

/// <summary>One netns cluster shared by every test class that needs hosts (its start is most of their cost).</summary>
[CollectionDefinition(Name)]
public sealed class NetnsCollection : ICollectionFixture<NetnsCluster>
{
    public const string Name = "netns hosts";
}

/// <summary>
/// Nodes on their own hosts (issue 22): namespaces, addresses, pod routing between hosts and kubectl from the host,
/// on one shared netns cluster; plus `down` cleaning up after an `up` that crashed half-way (no node processes).
/// </summary>
[Collection(NetnsCollection.Name)]
public sealed class HostsNetnsTests(NetnsCluster cluster, ITestOutputHelper output)
{
    private static string? Missing => HostNetwork.Missing() ?? (HostNetwork.Which("curl") is null ? "needs curl" : null);

    private void SkipUnlessRunning() => Skip.If(cluster.SkipReason is not null, cluster.SkipReason);

    [SkippableFact]
    public void Every_node_process_lives_in_its_own_network_namespace_with_its_own_address()
    {
        SkipUnlessRunning();
        var hostNs = File.ResolveLinkTarget("/proc/self/ns/net", false)!.ToString();
        var seen = new HashSet<string>();
        // cluster.json as it is now: a chaos test may have started a node again (new PID, same namespace).
        var state = ClusterState.Load(cluster.DataDirectory)!;
        foreach (var n in state.Nodes)
        {
            Assert.NotNull(n.Namespace);
            Assert.True(HostNetwork.NamespaceExists(n.Namespace!), $"namespace {n.Namespace} of {n.Name}");
            var ns = File.ResolveLinkTarget($"/proc/{n.Pid}/ns/net", false)!.ToString();
            Assert.NotEqual(hostNs, ns);
            Assert.True(seen.Add(ns), $"{n.Name} shares a network namespace");
            Assert.StartsWith(cluster.Prefix + "0.", n.Ip);
            Assert.Contains($"inet {n.Ip}/24", HostNetwork.Ip(["-n", n.Namespace!, "-4", "addr", "show", "dev", "eth0"]).Output);
        }
        Assert.Equal(state.Nodes.Count, seen.Count);
    }

    [SkippableFact]
    public async Task Kubectl_on_the_host_reaches_the_apiserver_on_its_host_address()
    {
        SkipUnlessRunning();
        Skip.If(KubectlRunner.KubectlPath is null, "kubectl is not on PATH");
        Assert.Equal(cluster.Prefix + "0.1", cluster.Credentials.Server.Host);
        var r = await ProcessRunner.RunAsync("kubectl", ["--cache-dir", Path.Combine(cluster.DataDirectory, "kubectl-cache"), "get", "nodes", "-o", "wide"], TimeSpan.FromSeconds(60),
            env: new Dictionary<string, string> { ["KUBECONFIG"] = cluster.KubeconfigPath, ["HOME"] = cluster.DataDirectory });
        output.WriteLine(r.Output);
        Assert.Equal(0, r.ExitCode);
        var stdout = r.Stdout;
        foreach (var w in cluster.State.Nodes.Where(n => n.Worker))
            Assert.Matches($@"{w.Name}\s+Ready\s+.*\s{System.Text.RegularExpressions.Regex.Escape(w.Ip)}\s", stdout);
    }

    [SkippableFact]
    public async Task A_pod_on_one_host_reaches_a_pod_on_another_by_its_ip()
    {
        SkipUnlessRunning();
        Skip.If(Missing is not null, Missing);
        using var http = FailoverSupport.Http(cluster);
        var workers = cluster.State.Nodes.Where(n => n.Worker).ToList();
        var (a, b) = (workers[0], workers[1]);
        foreach (var w in new[] { a, b })
            await FailoverSupport.CreateAsync(http, "/api/v1/namespaces/default/pods", JsonNode.Parse($$"""
                {"apiVersion":"v1","kind":"Pod","metadata":{"name":"hosts-echo-{{w.Name}}"},
                 "spec":{"nodeName":"{{w.Name}}","terminationGracePeriodSeconds":0,"containers":[{"name":"echo","image":"akkakube/echo"}]} }
                """)!.AsObject());
        var ips = new Dictionary<string, string>();
        await FailoverSupport.EventuallyAsync(async () =>
        {
            foreach (var w in new[] { a, b })
                if ((await FailoverSupport.SendAsync(http, HttpMethod.Get, $"/api/v1/namespaces/default/pods/hosts-echo-{w.Name}"))?["status"]?["podIP"]?.GetValue<string>() is { } ip)
                    ips[w.Name] = ip;
            return ips.Count == 2;
        }, TimeSpan.FromSeconds(90), "both echo pods have an IP");
        Assert.StartsWith(a.PodCidr[..^4], ips[a.Name]);
        Assert.StartsWith(b.PodCidr[..^4], ips[b.Name]);
        // The route was made by worker-a's node process from worker-b's Node (podCIDR via InternalIP), not by `up`:
        // the same --pod-routes a real machine runs with.
        await FailoverSupport.EventuallyAsync(() => Task.FromResult(
                HostNetwork.Ip(["-n", a.Namespace!, "-4", "route", "show", "proto", PodRouteTable.Protocol.ToString()]).Output.Contains($"{b.PodCidr} via {b.Ip}", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(60), $"a route to {b.PodCidr} via {b.Ip} in {a.Namespace}");
        Assert.Contains($"local {a.PodCidr} dev lo", HostNetwork.Ip(["-n", a.Namespace!, "-4", "route", "show", "table", "local", "proto", PodRouteTable.Protocol.ToString()]).Output);

        // From worker-a's host, with the source address of its pod, to the pod on worker-b: routed over the bridge.
        var body = "";
        await FailoverSupport.EventuallyAsync(() =>
        {
            var r = HostNetwork.Run("nsenter", [$"--net=/run/netns/{a.Namespace}", "--", "curl", "-s", "-m", "3",
                "--interface", ips[a.Name], $"http://{ips[b.Name]}:8080/"], check: false);
            body = r.Output;
            return Task.FromResult(r.Exit == 0);
        }, TimeSpan.FromSeconds(60), "the pod on the other host answers");
        output.WriteLine(body);
        Assert.Contains($"pod=hosts-echo-{b.Name}", body);
        Assert.Contains($"ip={ips[b.Name]}", body);
        Assert.Contains($"node={b.Name}", body);
    }

    [SkippableFact]
    public void Down_removes_what_a_crashed_up_left_behind()
    {
        Skip.If(HostNetwork.Missing() is not null, HostNetwork.Missing());
        using var dir = new TempDir();
        var nodes = ClusterLayout.Plan(1, 1, ["zone-a"]);
        var plans = HostNetwork.Plan("198.20.0.0/16", dir.Path, null, nodes);
        try
        {
            HostNetwork.Create(dir.Path, "198.20.0.0/16", plans);
            Assert.All(plans, p => Assert.True(HostNetwork.NamespaceExists(p.Namespace)));
            // The host reaches the nodes' pod ranges through their hosts.
            Assert.Contains("via 198.20.0.2", HostNetwork.Ip(["route", "show", "198.20.2.0/24"]).Output);
            // `up` died here: no cluster.json's processes, only DATA/hosts.json. `down` (Stop) removes everything.
            LocalClusterLauncher.Stop(new ClusterState { DataDirectory = dir.Path, ApiPort = 1, Nodes = [] }, TimeSpan.FromSeconds(1));
            Assert.All(plans, p => Assert.False(HostNetwork.NamespaceExists(p.Namespace), p.Namespace));
            Assert.All(plans, p => Assert.False(HostNetwork.LinkExists(p.HostVeth), p.HostVeth));
            Assert.False(HostNetwork.LinkExists($"akb-{HostNetwork.ShortId(dir.Path)}"));
            Assert.Equal("", HostNetwork.Ip(["-4", "route", "show", "root", "198.20.0.0/16"]).Output.Trim());
            Assert.False(File.Exists(HostNetwork.PathIn(dir.Path)));
        }
        finally
        {
            HostNetwork.Remove(dir.Path);
        }
    }
}
