using System.Text.Json.Nodes;
using AkkaKube.Cli;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Cli;

/// <summary>
/// kind-like clusters by name: `up --name a` and `--name b` side by side (each its own address block, API port and data
/// directory under AKKAKUBE_HOME), `list`, `status --output json`, `kubeconfig`, contexts merged into $KUBECONFIG, and
/// `down --purge` removing each cleanly. AKKAKUBE_HOME, HOME and KUBECONFIG point into a temp directory.
/// </summary>
public sealed class NamedClustersTests
{
    [Fact]
    public async Task Two_named_clusters_run_side_by_side_with_their_own_contexts_and_go_away_cleanly()
    {
        using var dir = new TempDir();
        var home = Path.Combine(dir.Path, "akkakube-home");
        var kubeconfig = Path.Combine(dir.Path, "kube", "config");
        Directory.CreateDirectory(Path.GetDirectoryName(kubeconfig)!);
        // A user's existing kubeconfig: its entries must survive the merges.
        await File.WriteAllTextAsync(kubeconfig, """
            apiVersion: v1
            kind: Config
            clusters:
            - name: other
              cluster:
                server: https://10.0.0.1:6443
            contexts:
            - name: other
              context:
                cluster: other
                user: other
            current-context: other
            users:
            - name: other
              user:
                token: secret-other
            """);
        var env = new Dictionary<string, string> { ["AKKAKUBE_HOME"] = home, ["KUBECONFIG"] = kubeconfig, ["HOME"] = dir.Path, ["NO_COLOR"] = "1" };
        Task<ProcessResult> Cli(params string[] args) => ProcessRunner.RunAsync(ProcessRunner.Akkakube, args, TimeSpan.FromMinutes(4), env: env);
        var states = new List<ClusterState>();
        try
        {
            foreach (var name in new[] { "a", "b" })
            {
                var up = await Cli("up", "--name", name, "--control-planes", "1", "--workers", "1", "--zones", "zone-a", "--timeout", "150");
                if (ClusterState.Load(Path.Combine(home, "clusters", name)) is { } s) states.Add(s);
                Assert.True(up.ExitCode == 0, up.Output);
                Assert.Matches(@"\[\s*\d+\.\ds\] members Up 2/2", up.Stdout);
                Assert.Contains("/readyz ok on 2/2 nodes", up.Stdout);
                Assert.Contains($"kubectl context akkakube-{name} is now current in {kubeconfig}", up.Stdout);
                Assert.DoesNotContain("\u001b[", up.Output); // NO_COLOR and a pipe: no escape sequences
            }
            var (a, b) = (states[0], states[1]);
            Assert.NotEqual(a.AddressBlock, b.AddressBlock);
            Assert.NotEqual(a.ApiPort, b.ApiPort);
            Assert.NotEqual(a.Nodes[0].Ip, b.Nodes[0].Ip);

            var list = await Cli("list", "--output", "json");
            Assert.True(list.ExitCode == 0, list.Output);
            var clusters = JsonNode.Parse(list.Stdout)!.AsArray();
            Assert.Equal(["a", "b"], clusters.Select(c => (string)c!["name"]!));
            Assert.All(clusters, c => Assert.Equal("running", (string?)c!["status"]));
            Assert.Contains(" a ", (await Cli("list")).Stdout);

            // Both contexts merged, b current, the user's own entries kept.
            var merged = await File.ReadAllTextAsync(kubeconfig);
            Assert.Contains("name: akkakube-a", merged);
            Assert.Contains("name: akkakube-b", merged);
            Assert.Contains("current-context: akkakube-b", merged);
            Assert.Contains("token: secret-other", merged);
            Assert.Contains($"server: https://127.0.0.1:{a.ApiPort}", merged);
            if (KubectlPath() is { } kubectl)
            {
                var contexts = await ProcessRunner.RunAsync(kubectl, ["config", "get-contexts", "-o", "name"], env: env);
                Assert.Equal(["akkakube-a", "akkakube-b", "other"], contexts.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order());
                var nodes = await ProcessRunner.RunAsync(kubectl, ["--context", "akkakube-a", "get", "nodes", "-o", "name"], env: env);
                Assert.True(nodes.ExitCode == 0, nodes.Output);
                Assert.Equal("node/worker-a1", nodes.Stdout.Trim());
            }

            var printed = await Cli("kubeconfig", "--name", "a");
            Assert.True(printed.ExitCode == 0, printed.Output);
            Assert.Contains("current-context: akkakube-a", printed.Stdout);
            Assert.Contains($"server: https://127.0.0.1:{a.ApiPort}", printed.Stdout);

            var status = await Cli("status", "--name", "a", "--output", "json");
            Assert.True(status.ExitCode == 0, status.Output);
            var json = JsonNode.Parse(status.Stdout)!;
            Assert.Equal("a", (string?)json["name"]);
            var nodesJson = json["nodes"]!.AsArray();
            Assert.Equal(["cp-1", "worker-a1"], nodesJson.Select(n => (string)n!["name"]!));
            Assert.All(nodesJson, n =>
            {
                Assert.Equal("Up", (string?)n!["memberStatus"]);
                Assert.True((bool)n["ready"]!, n.ToJsonString());
                Assert.StartsWith($"http://{(string)n["ip"]!}:", (string)n["metrics"]!);
                Assert.EndsWith("/readyz", (string)n["health"]!["readyz"]!);
            });
            var table = await Cli("status", "--name", "a");
            Assert.Contains("readyz", table.Stdout);

            var downA = await Cli("down", "--name", "a", "--purge");
            Assert.True(downA.ExitCode == 0, downA.Output);
            Assert.All(a.Nodes, n => Assert.False(NodeProcesses.IsNodeAlive(n.Pid, n.Name)));
            Assert.All(b.Nodes, n => Assert.True(NodeProcesses.IsNodeAlive(n.Pid, n.Name), $"down --name a stopped {n.Name} of b"));
            Assert.False(Directory.Exists(Path.Combine(home, "clusters", "a")));
            var afterA = await File.ReadAllTextAsync(kubeconfig);
            Assert.DoesNotContain("akkakube-a", afterA);
            Assert.Contains("name: akkakube-b", afterA);
            Assert.Equal(["b"], JsonNode.Parse((await Cli("list", "--output", "json")).Stdout)!.AsArray().Select(c => (string)c!["name"]!));

            var downB = await Cli("down", "--name", "b");
            Assert.True(downB.ExitCode == 0, downB.Output);
            Assert.All(b.Nodes, n => Assert.False(NodeProcesses.IsNodeAlive(n.Pid, n.Name)));
            Assert.Equal("stopped", (string?)JsonNode.Parse((await Cli("list", "--output", "json")).Stdout)!.AsArray().Single()!["status"]);
            Assert.Contains("name: akkakube-b", await File.ReadAllTextAsync(kubeconfig)); // without --purge the context stays

            ProcessRunner.AssertOneLineError(await Cli("status", "--name", "nope"), "no cluster named 'nope'");
            ProcessRunner.AssertOneLineError(await Cli("up", "--name", "Bad_Name"), "DNS-1123");
        }
        finally
        {
            foreach (var n in states.SelectMany(s => s.Nodes).Where(n => NodeProcesses.IsNodeAlive(n.Pid, n.Name)))
                NodeProcesses.Signal(n.Pid, NodeProcesses.SigKill);
        }
    }

    private static string? KubectlPath() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(p => Path.Combine(p, "kubectl")).FirstOrDefault(File.Exists);
}
