using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using AkkaKube.Cli;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Runtime;

/// <summary>
/// Process-level, the `cri` runtime for real: a node's own containerd (root, state, socket, CNI bridge on the pod CIDR),
/// images built from Debian's busybox-static by scripts/build-test-images.sh and imported as `akkakube image load` does,
/// and an akkakube-node with --runtime cri. A pod runs from the image to Running in its own network namespace with its
/// own IP, its log is read through the API, and deleting it removes its sandbox and container from containerd.
/// Needs root, containerd, runc, ctr, the CNI plugins and busybox-static (.ci/run installs them); skips naming what is missing.
/// </summary>
public sealed class CriNodeTests
{
    internal static string? RepoFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, relative))) return Path.Combine(dir.FullName, relative);
        return null;
    }

    internal static async Task<(int Code, string Output)> Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await output + await error);
    }

    /// <summary>
    /// Test cleanup of a node on its own containerd: the node process, the shims (and anything they run) of this
    /// containerd only (they name its socket), containerd, the bridge, kube-proxy's nftables table (a kill -9 leaves
    /// it), and the pods' network namespaces on <paramref name="cidrPrefix"/> (e.g. "10.244.7.": their shims are gone,
    /// so nothing else removes them).
    /// </summary>
    internal static async Task CleanUpAsync(Process? node, ContainerdNode containerd, int containerdPid, string nftTable, string cidrPrefix)
    {
        if (node is not null)
        {
            Kill(node.Id);
            node.Dispose();
        }
        foreach (var pid in NodeProcesses.Mentioning(containerd.Socket)) Kill(pid);
        ContainerdNode.KillContainers(containerd.NodeName); // their containers outlive the shims
        Kill(containerdPid);
        await Run("ip", "link", "delete", containerd.Bridge);
        await Run("nft", "delete", "table", "ip", nftTable);
        await Run("nft", "delete", "table", "inet", Actors.Netpol.NetpolRules.TableFor(containerd.NodeName)); // a killed node leaves it
        ContainerdNode.UnmountUnder(containerd.Directory); // the killed sandboxes' shm and rootfs mounts
        foreach (var netns in (await Run("ip", "netns", "list")).Output.Split('\n').Select(l => l.Split(' ')[0]).Where(n => n.StartsWith("cni-", StringComparison.Ordinal)))
            if ((await Run("ip", "netns", "exec", netns, "ip", "-4", "-o", "addr", "show", "eth0")).Output.Contains(" " + cidrPrefix, StringComparison.Ordinal))
                await Run("ip", "netns", "delete", netns);
    }

    internal static void Kill(int pid)
    {
        try { Process.GetProcessById(pid).Kill(entireProcessTree: true); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception) { }
    }

    /// <summary>
    /// Starts an all-in-one akkakube-node (control-plane and worker) on the cri runtime of <paramref name="containerd"/>
    /// with its pod CIDR, data in <paramref name="nodeData"/>, output into <paramref name="log"/>; returns it and its API port.
    /// </summary>
    internal static (Process Node, int ApiPort) StartNode(string nodeName, ContainerdNode containerd, string nodeData, ProcessOutput log, params string[] extra) =>
        StartNode(nodeName, containerd, nodeData, log, new NodePorts(FreePort.Next(), FreePort.Next(), FreePort.Next()), extra);

    /// <summary>The ports of an all-in-one node: a restarted node gets the same ones.</summary>
    internal sealed record NodePorts(int Api, int Remoting, int Cmd);

    internal static (Process Node, int ApiPort) StartNode(string nodeName, ContainerdNode containerd, string nodeData, ProcessOutput log, NodePorts ports, params string[] extra)
    {
        var (apiPort, port, cmdPort) = (ports.Api, ports.Remoting, ports.Cmd);
        Directory.CreateDirectory(nodeData);
        var psi = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "akkakube-node")) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[]
                 {
                     "--node-name", nodeName, "--roles", "control-plane,worker", "--port", port.ToString(),
                     "--seed", $"akka.tcp://akkakube@127.0.0.1:{port}", "--api-port", apiPort.ToString(),
                     "--cmd-port", cmdPort.ToString(), "--data-dir", nodeData, "--pod-cidr", containerd.PodCidr,
                     "--runtime", "cri", "--container-runtime-endpoint", containerd.Endpoint,
                 }.Concat(extra))
            psi.ArgumentList.Add(a);
        var node = Process.Start(psi)!;
        node.OutputDataReceived += (_, e) => log.Add(e.Data);
        node.ErrorDataReceived += (_, e) => log.Add(e.Data);
        node.BeginOutputReadLine();
        node.BeginErrorReadLine();
        return (node, apiPort);
    }

    /// <summary>Prints what the container finds at /var/run/secrets/kubernetes.io/serviceaccount, and whether it can write there.</summary>
    /// <summary>The pod's resolv.conf (the sandbox's dns_config), its kubelet-managed /etc/hosts, and a cluster name through the node's DNS on the bridge address (bound once the bridge exists: retried).</summary>
    private const string DnsProbe =
        "echo \"resolv: $(tr '\\n' ' ' < /etc/resolv.conf)\"; grep -q 'alias.test' /etc/hosts && echo hosts-alias-ok; " +
        "for i in $(seq 1 30); do nslookup kubernetes.default.svc.cluster.local >/dev/null 2>&1 && { echo dns-ok; break; }; sleep 1; done; ";

    private const string ServiceAccountProbe =
        "SA=/var/run/secrets/kubernetes.io/serviceaccount; echo \"sa-ns=$(cat $SA/namespace) ca=$(head -n 1 $SA/ca.crt) token=$(cut -c 1-3 $SA/token)\"; " +
        "touch $SA/probe 2>/dev/null || echo sa-mount-read-only; ";

    [SkippableFact]
    public async Task A_pod_runs_from_a_loaded_image_in_its_own_network_namespace_with_its_service_account_mount_logs_through_the_api_and_is_removed_from_containerd()
    {
        var missing = ContainerdNode.Missing();
        Skip.If(missing is not null, $"the cri runtime test {missing}");
        Skip.If(!File.Exists("/bin/busybox"), "the cri runtime test needs busybox-static (apt-get install busybox-static)");
        var script = RepoFile("scripts/build-test-images.sh");
        Skip.If(script is null, "scripts/build-test-images.sh not found above the test binaries");

        using var dir = new TempDir();
        var octet = 200 + Random.Shared.Next(50);
        var cidr = $"10.244.{octet}.0/24";
        var containerd = new ContainerdNode(Path.Combine(dir.Path, "ctd"), "cri-test", cidr, $"akt{octet}x{Random.Shared.Next(1000)}");
        var images = Path.Combine(dir.Path, "images");
        var built = await Run("bash", script!, images);
        Assert.True(built.Code == 0, built.Output);

        var containerdPid = containerd.Start();
        Process? node = null;
        try
        {
            Assert.StartsWith("containerd ", await containerd.WaitReadyAsync(TimeSpan.FromSeconds(60)));
            foreach (var archive in new[] { "pause.tar", "busybox.tar" })
                Assert.Contains("akkakube/", await containerd.ImportAsync(Path.Combine(images, archive)));

            var nodeData = Path.Combine(dir.Path, "node");
            var nodeLog = new ProcessOutput();
            (node, var apiPort) = StartNode("cri-test", containerd, nodeData, nodeLog);
            // the admin kubeconfig from the node's own cluster CA, as `up` writes it
            using var http = Actors.Security.KubeconfigCredentials.Load(LocalClusterLauncher.WriteKubeconfig(nodeData, apiPort))
                .CreateClient(TimeSpan.FromSeconds(20), h => h.UseProxy = false);
            const string api = "/api/v1/namespaces/default/pods";

            var pod = new JsonObject
            {
                ["apiVersion"] = "v1", ["kind"] = "Pod",
                ["metadata"] = new JsonObject { ["name"] = "box" },
                ["spec"] = new JsonObject
                {
                    ["nodeName"] = "cri-test",
                    ["terminationGracePeriodSeconds"] = 2,
                    ["hostAliases"] = new JsonArray(new JsonObject { ["ip"] = "10.1.2.3", ["hostnames"] = new JsonArray("alias.test") }),
                    ["containers"] = new JsonArray(new JsonObject
                    {
                        ["name"] = "shell", ["image"] = "akkakube/busybox",
                        ["command"] = new JsonArray("sh", "-c", "echo \"hello from $GREETING in $(pwd)\"; " + ServiceAccountProbe + DnsProbe + "ip -4 -o addr show eth0; trap 'exit 0' TERM; while :; do sleep 1; done"),
                        ["workingDir"] = "/tmp",
                        ["env"] = new JsonArray(new JsonObject { ["name"] = "GREETING", ["value"] = "cri" }),
                        ["resources"] = new JsonObject { ["limits"] = new JsonObject { ["memory"] = "64Mi", ["cpu"] = "500m" } },
                    }),
                },
            };
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while (true)
            {
                try
                {
                    using var r = await http.PostAsync(api, new StringContent(pod.ToJsonString(), Encoding.UTF8, "application/json"));
                    if (r.IsSuccessStatusCode || r.StatusCode == HttpStatusCode.Conflict) break;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
                Assert.False(DateTime.UtcNow > deadline || node.HasExited, "the node's apiserver did not accept the pod:\n" + nodeLog);
                await Task.Delay(300);
            }

            JsonNode? running = null;
            while (running is null)
            {
                try
                {
                    var p = JsonNode.Parse(await http.GetStringAsync(api + "/box"))!;
                    if ((string?)p["status"]?["phase"] == "Running" && p["status"]?["containerStatuses"]?[0]?["state"]?["running"] is not null) running = p;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
                Assert.False(DateTime.UtcNow > deadline, "the pod did not run:\n" + nodeLog);
                await Task.Delay(300);
            }
            var podIp = (string)running["status"]!["podIP"]!;
            Assert.StartsWith($"10.244.{octet}.", podIp);
            var status = running["status"]!["containerStatuses"]![0]!;
            Assert.StartsWith("containerd://", (string)status["containerID"]!);

            // The container's own view: its eth0 holds the pod IP (its own network namespace), env and workingDir applied.
            string log = "";
            while (!log.Contains($"inet {podIp}/24", StringComparison.Ordinal))
            {
                try { log = await http.GetStringAsync(api + "/box/log"); }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
                Assert.False(DateTime.UtcNow > deadline, $"the log never showed eth0 with {podIp}: '{log}'");
                await Task.Delay(300);
            }
            Assert.Contains("hello from cri in /tmp", log);
            // its ServiceAccount token volume, bind-mounted read-only at the standard path
            Assert.Contains("sa-ns=default ca=-----BEGIN CERTIFICATE----- token=eyJ", log);
            Assert.Contains("sa-mount-read-only", log);
            // cluster DNS: resolv.conf from the CRI dns_config (the node's DNS on the bridge), hostAliases in /etc/hosts,
            // and a Service name answered from inside the pod's network namespace
            Assert.Contains($"resolv: search default.svc.cluster.local svc.cluster.local cluster.local", log.Replace($"nameserver 10.244.{octet}.1 ", ""));
            Assert.Contains($"nameserver 10.244.{octet}.1", log);
            Assert.Contains("options ndots:5", log);
            Assert.Contains("hosts-alias-ok", log);
            Assert.Contains("dns-ok", log);

            using (var r = await http.DeleteAsync(api + "/box"))
                Assert.True(r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync());
            while (true)
            {
                using var r = await http.GetAsync(api + "/box");
                if (r.StatusCode == HttpStatusCode.NotFound) break;
                Assert.False(DateTime.UtcNow > deadline, "the pod was not removed:\n" + nodeLog);
                await Task.Delay(300);
            }
            // Its sandbox and container are gone from the node's containerd.
            string listed = "x";
            while (listed.Length > 0)
            {
                listed = (await Run("ctr", "--address", containerd.Socket, "--namespace", "k8s.io", "containers", "ls", "-q")).Output.Trim();
                Assert.False(DateTime.UtcNow > deadline, "containerd still has containers: " + listed);
                if (listed.Length > 0) await Task.Delay(300);
            }
        }
        finally
        {
            await CleanUpAsync(node, containerd, containerdPid, Actors.Proxy.NftRules.TableFor("cri-test"), $"10.244.{octet}.");
        }
    }
}
