using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using AkkaKube.Actors.Proxy;
using AkkaKube.Cli;
using AkkaKube.Tests.Infrastructure;
using AkkaKube.Tests.Runtime;

namespace AkkaKube.Tests.Proxy;

/// <summary>
/// kube-proxy's nftables mode end to end: a cri node (its own containerd, CNI bridge) whose Service range is routable
/// (AddressBlocks' cri ranges), two busybox httpd pods behind a ClusterIP Service, and a third pod in its own network
/// namespace fetching the ClusterIP until both pods have answered. The Node reports the mode in its annotations; after a
/// kill -9 the table stays and the restarted node rewrites it (one table, not two); a graceful stop removes it. The node's
/// NetworkPolicy table too: a default-deny ingress policy stops the client, an allow from app=client lets it through again. Needs what CriNodeTests needs plus nft; skips naming what is missing.
/// </summary>
public sealed class CriServiceTests
{
    private static JsonObject Pod(string name, string nodeName, string labelApp, string script) => new()
    {
        ["apiVersion"] = "v1", ["kind"] = "Pod",
        ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["app"] = labelApp } },
        ["spec"] = new JsonObject
        {
            ["nodeName"] = nodeName, ["terminationGracePeriodSeconds"] = 1,
            ["containers"] = new JsonArray(new JsonObject { ["name"] = "c", ["image"] = "akkakube/busybox", ["command"] = new JsonArray("sh", "-c", script) }),
        },
    };

    [SkippableFact]
    public async Task A_pod_reaches_both_pods_behind_a_cluster_ip_through_the_nodes_nftables_table_which_a_restart_rewrites_and_a_graceful_stop_removes()
    {
        var missing = ContainerdNode.Missing() ?? ProxyModes.NftablesMissing();
        Skip.If(missing is not null, $"the nftables end-to-end test {missing}");
        Skip.If(!File.Exists("/bin/busybox"), "the nftables end-to-end test needs busybox-static (apt-get install busybox-static)");
        var script = CriNodeTests.RepoFile("scripts/build-test-images.sh");
        Skip.If(script is null, "scripts/build-test-images.sh not found above the test binaries");

        using var dir = new TempDir();
        var octet = 150 + Random.Shared.Next(50);
        var block = 40 + Random.Shared.Next(24); // Service range 10.96.4b.0/22: apart from other clusters on this host
        var nodeName = $"cri-nft-{Random.Shared.Next(100000)}";
        var cidr = $"10.244.{octet}.0/24";
        var containerd = new ContainerdNode(Path.Combine(dir.Path, "ctd"), nodeName, cidr, $"akn{octet}x{Random.Shared.Next(1000)}");
        var built = await CriNodeTests.Run("bash", script!, Path.Combine(dir.Path, "images"));
        Assert.True(built.Code == 0, built.Output);
        var conf = Path.Combine(dir.Path, "cri.conf");
        File.WriteAllText(conf, Actors.Cluster.AddressBlocks.Hocon(block, cri: true));

        var containerdPid = containerd.Start();
        Process? node = null;
        var table = NftRules.TableFor(nodeName);
        var policyTable = Actors.Netpol.NetpolRules.TableFor(nodeName);
        try
        {
            await containerd.WaitReadyAsync(TimeSpan.FromSeconds(60));
            foreach (var archive in new[] { "pause.tar", "busybox.tar" })
                await containerd.ImportAsync(Path.Combine(dir.Path, "images", archive));
            var nodeData = Path.Combine(dir.Path, "node");
            var nodeLog = new ProcessOutput();
            (node, var apiPort) = CriNodeTests.StartNode(nodeName, containerd, nodeData, nodeLog, "--config", conf);
            using var http = Actors.Security.KubeconfigCredentials.Load(LocalClusterLauncher.WriteKubeconfig(nodeData, apiPort))
                .CreateClient(TimeSpan.FromSeconds(20), h => h.UseProxy = false);
            var deadline = DateTime.UtcNow.AddSeconds(150);

            async Task<JsonNode> Post(string path, JsonObject body)
            {
                while (true)
                {
                    try
                    {
                        using var r = await http.PostAsync(path, new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
                        if (r.IsSuccessStatusCode) return JsonNode.Parse(await r.Content.ReadAsStringAsync())!;
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
                    Assert.False(DateTime.UtcNow > deadline || node.HasExited, $"POST {path} was not accepted:\n{nodeLog}");
                    await Task.Delay(300);
                }
            }

            const string pods = "/api/v1/namespaces/default/pods";
            var service = await Post("/api/v1/namespaces/default/services", new JsonObject
            {
                ["apiVersion"] = "v1", ["kind"] = "Service", ["metadata"] = new JsonObject { ["name"] = "web" },
                ["spec"] = new JsonObject
                {
                    ["selector"] = new JsonObject { ["app"] = "web" },
                    ["ports"] = new JsonArray(new JsonObject { ["port"] = 80, ["targetPort"] = 8080 }),
                },
            });
            var clusterIp = (string)service["spec"]!["clusterIP"]!;
            var range = Actors.Cluster.AddressBlocks.CriServiceCidr(block);
            Assert.True(new Actors.Services.ServiceNetworkSettings(range, "30000-32767", TimeSpan.FromSeconds(30)).InRange(IPAddress.Parse(clusterIp)), $"{clusterIp} is not in {range}");
            foreach (var name in new[] { "web-a", "web-b" })
                await Post(pods, Pod(name, nodeName, "web", "mkdir -p /www; echo $(hostname) > /www/index.html; exec httpd -f -p 8080 -h /www"));
            await Post(pods, Pod("client", nodeName, "client",
                $"while :; do echo \"got $(wget -qO- http://{clusterIp}/ 2>&1)\"; sleep 0.3; done"));

            // The client's log shows which pod answered each request; both must, and nothing else.
            string log = "";
            while (!(log.Contains("got web-a", StringComparison.Ordinal) && log.Contains("got web-b", StringComparison.Ordinal)))
            {
                Assert.False(DateTime.UtcNow > deadline, $"the client did not reach both pods through {clusterIp}; its log:\n{log}\n" +
                                                         $"table:\n{(await CriNodeTests.Run("nft", "list", "table", "ip", table)).Output}\nnode:\n{nodeLog}");
                await Task.Delay(500);
                try { log = await http.GetStringAsync(pods + "/client/log"); }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
            }
            Assert.All(log.Split('\n').Where(l => l.StartsWith("got web", StringComparison.Ordinal)), l => Assert.Matches("^got web-[ab]$", l));

            // A two-tier app that finds its tiers only by DNS name, as the guestbook's frontends find redis-master: the
            // frontend's page (a CGI script of busybox httpd) fetches http://web/ (short name, through the pod's search
            // path and the node's DNS), and a shopper fetches http://frontend.default.svc.cluster.local/ through its Service.
            await Post("/api/v1/namespaces/default/services", new JsonObject
            {
                ["apiVersion"] = "v1", ["kind"] = "Service", ["metadata"] = new JsonObject { ["name"] = "frontend" },
                ["spec"] = new JsonObject
                {
                    ["selector"] = new JsonObject { ["app"] = "frontend" },
                    ["ports"] = new JsonArray(new JsonObject { ["name"] = "http", ["port"] = 80, ["targetPort"] = 8081 }),
                },
            });
            await Post(pods, Pod("frontend", nodeName, "frontend",
                "mkdir -p /www/cgi-bin; printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho \"front $(wget -qO- http://web/ 2>&1)\"\\n' > /www/cgi-bin/page; " +
                "chmod +x /www/cgi-bin/page; exec httpd -f -p 8081 -h /www"));
            await Post(pods, Pod("shopper", nodeName, "shopper",
                "while :; do echo \"shop $(wget -qO- http://frontend.default.svc.cluster.local/cgi-bin/page 2>&1)\"; sleep 0.5; done"));
            var shopped = "";
            while (!shopped.Split('\n').Any(l => l.StartsWith("shop front web-", StringComparison.Ordinal)))
            {
                Assert.False(DateTime.UtcNow > deadline, $"the two-tier app did not answer through DNS names; the shopper's log:\n{shopped}\nnode:\n{nodeLog}");
                await Task.Delay(500);
                try { shopped = await http.GetStringAsync(pods + "/shopper/log"); }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
            }

            // NetworkPolicy, enforced by the node's own table: a default deny of the web pods' ingress stops the client's
            // requests; an allow from app=client restores them (NetpolNetnsTests covers the rest of the semantics).
            async Task<string[]> Log()
            {
                try { return (await http.GetStringAsync(pods + "/client/log")).Split('\n'); }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return []; }
            }

            async Task ClientSees(Func<string, bool> line, string what)
            {
                var from = (await Log()).Length;
                while (!(await Log()).Skip(from).Any(line))
                {
                    Assert.False(DateTime.UtcNow > deadline, $"{what}; client log:\n{string.Join("\n", (await Log()).TakeLast(10))}\n" +
                                                             $"table:\n{(await CriNodeTests.Run("nft", "list", "table", "inet", policyTable)).Output}\nnode:\n{nodeLog}");
                    await Task.Delay(300);
                }
            }

            const string policies = "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies";
            await Post(policies, new JsonObject
            {
                ["apiVersion"] = "networking.k8s.io/v1", ["kind"] = "NetworkPolicy", ["metadata"] = new JsonObject { ["name"] = "web-deny" },
                ["spec"] = new JsonObject { ["podSelector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = "web" } }, ["policyTypes"] = new JsonArray("Ingress") },
            });
            await ClientSees(l => l.StartsWith("got wget:", StringComparison.Ordinal), "a default-deny ingress policy did not block the client");
            await Post(policies, new JsonObject
            {
                ["apiVersion"] = "networking.k8s.io/v1", ["kind"] = "NetworkPolicy", ["metadata"] = new JsonObject { ["name"] = "web-from-client" },
                ["spec"] = new JsonObject
                {
                    ["podSelector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = "web" } },
                    ["ingress"] = new JsonArray(new JsonObject
                    {
                        ["from"] = new JsonArray(new JsonObject { ["podSelector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = "client" } } }),
                        ["ports"] = new JsonArray(new JsonObject { ["port"] = 8080 }),
                    }),
                },
            });
            await ClientSees(l => l.StartsWith("got web-", StringComparison.Ordinal), "an allow from app=client did not restore the client's requests");
            Assert.Contains("ingress-default/web-a", (await CriNodeTests.Run("nft", "list", "table", "inet", policyTable)).Output);

            var nodeObject = JsonNode.Parse(await http.GetStringAsync($"/api/v1/nodes/{nodeName}"))!;
            Assert.Equal("nftables", (string?)nodeObject["metadata"]!["annotations"]![ProxyModes.ModeAnnotation]);
            Assert.Contains($"table ip {table}", (await CriNodeTests.Run("nft", "list", "tables")).Output);

            // kill -9 leaves the table; the restarted node rewrites it in one transaction (still one table) once it has listed.
            int Writes(string t) => nodeLog.ToString().Split('\n').Count(l => l.Contains($"nftables table {t}: ", StringComparison.Ordinal));
            var writes = Writes(table);
            var policyWrites = Writes(policyTable);
            CriNodeTests.Kill(node.Id);
            Assert.True(node.WaitForExit(30_000), "the node did not die on SIGKILL");
            node.Dispose();
            Assert.Contains($"table ip {table}", (await CriNodeTests.Run("nft", "list", "tables")).Output);
            (node, _) = CriNodeTests.StartNode(nodeName, containerd, nodeData, nodeLog, "--config", conf);
            Assert.Contains($"table inet {policyTable}", (await CriNodeTests.Run("nft", "list", "tables")).Output);
            while (Writes(table) == writes || Writes(policyTable) == policyWrites)
            {
                Assert.False(DateTime.UtcNow > deadline.AddSeconds(60) || node.HasExited, "the restarted node did not rewrite its tables:\n" + nodeLog);
                await Task.Delay(300);
            }
            Assert.Equal(1, (await CriNodeTests.Run("nft", "list", "tables")).Output.Split('\n').Count(l => l.Trim() == $"table ip {table}"));
            Assert.Equal(1, (await CriNodeTests.Run("nft", "list", "tables")).Output.Split('\n').Count(l => l.Trim() == $"table inet {policyTable}"));

            // A graceful stop (SIGTERM, as `akkakube down` sends) removes the node's table.
            await CriNodeTests.Run("kill", "-TERM", node.Id.ToString());
            Assert.True(node.WaitForExit(60_000), "the node did not stop on SIGTERM:\n" + nodeLog);
            var left = (await CriNodeTests.Run("nft", "list", "tables")).Output;
            Assert.DoesNotContain($"table ip {table}", left);
            Assert.DoesNotContain($"table inet {policyTable}", left);
        }
        finally
        {
            await CriNodeTests.Run("nft", "delete", "table", "inet", policyTable);
            // after a failure too: never leave rules, bridges or network namespaces behind
            await CriNodeTests.CleanUpAsync(node, containerd, containerdPid, table, $"10.244.{octet}.");
        }
    }
}
