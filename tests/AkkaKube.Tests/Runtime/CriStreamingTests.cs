using System.Diagnostics;
using AkkaKube.Cli;
using AkkaKube.Tests.Failover;
using AkkaKube.Tests.Infrastructure;
using AkkaKube.Tests.Kubectl;
using static AkkaKube.Tests.Runtime.CriNodeTests;

namespace AkkaKube.Tests.Runtime;

/// <summary>
/// The real kubectl's exec, cp and port-forward into a container of the `cri` runtime: exec and cp go through the
/// apiserver to the kubelet, which asks containerd (CRI Exec) for a streaming URL and speaks SPDY to it; port-forward
/// dials the pod IP from the node. One node and one pod for the whole class. Needs root, containerd and busybox-static.
/// </summary>
public sealed class CriStreamingTests(CriStreamingTests.Cluster cluster) : IClassFixture<CriStreamingTests.Cluster>
{
    public sealed class Cluster : IAsyncLifetime
    {
        public const string Pod = "box";
        private readonly TempDir _dir = new();
        private ContainerdNode? _containerd;
        private int _containerdPid;
        private Process? _node;
        private readonly ProcessOutput _nodeLog = new();

        public string? Missing { get; private set; }
        public string Kubeconfig { get; private set; } = "";
        public string PodIp { get; private set; } = "";
        public string DataDirectory => _dir.Path;

        public async Task InitializeAsync()
        {
            Missing = ContainerdNode.Missing() is { } m ? $"the cri runtime test {m}"
                : !File.Exists("/bin/busybox") ? "the cri runtime test needs busybox-static (apt-get install busybox-static)"
                : KubectlRunner.KubectlPath is null ? "kubectl is not on PATH"
                : RepoFile("scripts/build-test-images.sh") is null ? "scripts/build-test-images.sh not found above the test binaries"
                : null;
            if (Missing is not null) return;
            var octet = 200 + Random.Shared.Next(50);
            _containerd = new ContainerdNode(Path.Combine(_dir.Path, "ctd"), "cri-stream", $"10.244.{octet}.0/24", $"aks{octet}x{Random.Shared.Next(1000)}");
            var images = Path.Combine(_dir.Path, "images");
            var built = await Run("bash", RepoFile("scripts/build-test-images.sh")!, images);
            Assert.True(built.Code == 0, built.Output);
            _containerdPid = _containerd.Start();
            Assert.StartsWith("containerd ", await _containerd.WaitReadyAsync(TimeSpan.FromSeconds(60)));
            foreach (var archive in new[] { "pause.tar", "busybox.tar" })
                Assert.Contains("akkakube/", await _containerd.ImportAsync(Path.Combine(images, archive)));
            var nodeData = Path.Combine(_dir.Path, "node");
            (_node, var apiPort) = StartNode("cri-stream", _containerd, nodeData, _nodeLog);
            Kubeconfig = LocalClusterLauncher.WriteKubeconfig(nodeData, apiPort);

            var manifest = Path.Combine(_dir.Path, "box.yaml");
            await File.WriteAllTextAsync(manifest, $$"""
                apiVersion: v1
                kind: Pod
                metadata: {name: {{Pod}}}
                spec:
                  nodeName: cri-stream
                  terminationGracePeriodSeconds: 1
                  containers:
                  - name: shell
                    image: akkakube/busybox
                    command: [sh, -c, "mkdir -p /www && echo served-from-the-pod > /www/index.html && exec httpd -f -p 8080 -h /www"]
                    ports: [{containerPort: 8080}]
                    readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
                """);
            await FailoverSupport.EventuallyAsync(async () => (await KubectlAsync("apply", "-f", manifest)).ExitCode == 0,
                TimeSpan.FromSeconds(120), "kubectl apply on the cri node:\n" + _nodeLog);
            var ready = await KubectlAsync("wait", "--for=condition=Ready", "pod/" + Pod, "--timeout=120s");
            Assert.True(ready.ExitCode == 0, ready.Output + "\n" + _nodeLog);
            PodIp = (await KubectlAsync("get", "pod", Pod, "-o", "jsonpath={.status.podIP}")).Stdout.Trim();
        }

        public Dictionary<string, string> Env => new() { ["KUBECONFIG"] = Kubeconfig, ["HOME"] = _dir.Path };

        /// <summary>kubectl apply of a manifest written to the data directory as NAME.yaml.</summary>
        public async Task ApplyAsync(string name, string manifest)
        {
            var file = Path.Combine(_dir.Path, name + ".yaml");
            await File.WriteAllTextAsync(file, manifest);
            var applied = await KubectlAsync("apply", "-f", file);
            Assert.True(applied.ExitCode == 0, applied.Output);
        }

        public string[] Kubectl(params string[] args) => ["--cache-dir", Path.Combine(_dir.Path, "kubectl-cache"), .. args];

        public Task<ProcessResult> KubectlAsync(params string[] args) =>
            ProcessRunner.RunAsync("kubectl", Kubectl(args), TimeSpan.FromSeconds(120), env: Env);

        public async Task DisposeAsync()
        {
            if (_containerd is not null)
                await CriNodeTests.CleanUpAsync(_node, _containerd, _containerdPid, Actors.Proxy.NftRules.TableFor("cri-stream"), _containerd.PodCidr[..^"0/24".Length]);
            else if (_node is not null)
            {
                Kill(_node.Id);
                _node.Dispose();
            }
            _dir.Dispose();
        }
    }

    [SkippableFact]
    public async Task Exec_runs_in_the_containers_own_network_namespace_and_reports_the_exit_code()
    {
        Skip.If(cluster.Missing is not null, cluster.Missing);
        var r = await cluster.KubectlAsync("exec", Cluster.Pod, "--", "cat", "/proc/net/fib_trie");
        Assert.True(r.ExitCode == 0, r.Output);
        Assert.Contains(cluster.PodIp, r.Stdout);

        var failed = await cluster.KubectlAsync("exec", Cluster.Pod, "--", "sh", "-c", "echo to-stderr >&2; exit 3");
        Assert.Equal(3, failed.ExitCode);
        Assert.Contains("to-stderr", failed.Stderr);
        Assert.Contains("command terminated with exit code 3", failed.Stderr);
    }

    [SkippableFact]
    public async Task Exec_with_stdin_and_cp_round_trip_bytes_through_containerds_streaming_server()
    {
        Skip.If(cluster.Missing is not null, cluster.Missing);
        var bytes = new byte[300_000];
        new Random(11).NextBytes(bytes);
        var local = Path.Combine(cluster.DataDirectory, "cp-source.bin");
        await File.WriteAllBytesAsync(local, bytes);

        // stdin to its end (the stdin stream's FIN is what ends sha256sum)
        var command = string.Join(' ', cluster.Kubectl("exec", "-i", Cluster.Pod, "--", "sha256sum").Select(Quote)) + " < " + Quote(local);
        var hashed = await ProcessRunner.RunAsync("sh", ["-c", "kubectl " + command], TimeSpan.FromSeconds(60), env: cluster.Env);
        Assert.True(hashed.ExitCode == 0, hashed.Output);
        Assert.StartsWith(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)), hashed.Stdout);

        var to = await cluster.KubectlAsync("cp", local, $"default/{Cluster.Pod}:/tmp/copied.bin");
        Assert.True(to.ExitCode == 0, to.Output);
        var back = Path.Combine(cluster.DataDirectory, "cp-back.bin");
        var from = await cluster.KubectlAsync("cp", $"default/{Cluster.Pod}:/tmp/copied.bin", back);
        Assert.True(from.ExitCode == 0, from.Output);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(back));
    }

    [SkippableFact]
    public async Task Attach_with_stdin_reaches_the_containers_own_process_through_containerd()
    {
        Skip.If(cluster.Missing is not null, cluster.Missing);
        await cluster.ApplyAsync("reader", """
            apiVersion: v1
            kind: Pod
            metadata: {name: reader}
            spec:
              nodeName: cri-stream
              restartPolicy: Never
              terminationGracePeriodSeconds: 1
              containers:
              - name: reader
                image: akkakube/busybox
                stdin: true
                stdinOnce: true
                command: [sh, -c, 'while read l; do echo "got $l"; done; echo eof']
            """);
        var running = await cluster.KubectlAsync("wait", "--for=jsonpath={.status.phase}=Running", "pod/reader", "--timeout=120s");
        Assert.True(running.ExitCode == 0, running.Output);
        // CRI Attach: containerd closes the container's stdin when this first session's stdin ends (stdinOnce)
        var command = string.Join(' ', cluster.Kubectl("attach", "-i", "reader").Select(Quote));
        var r = await ProcessRunner.RunAsync("sh", ["-c", "printf 'a\\nb\\n' | kubectl " + command], TimeSpan.FromSeconds(60), env: cluster.Env);
        Assert.True(r.ExitCode == 0, r.Output);
        Assert.Contains("got a\ngot b\neof\n", r.Stdout);
    }

    [SkippableFact]
    public async Task Port_forward_reaches_the_pods_server()
    {
        Skip.If(cluster.Missing is not null, cluster.Missing);
        var port = FreePort.Next();
        await using var kubectl = await KubectlPortForward.StartAsync(cluster.Kubectl("port-forward", "pod/" + Cluster.Pod, $"{port}:8080"), cluster.Env);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        for (var i = 0; i < 2; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{port}/index.html");
            request.Headers.ConnectionClose = true;
            using var response = await http.SendAsync(request);
            Assert.Equal("served-from-the-pod\n", await response.Content.ReadAsStringAsync());
        }
    }

    /// <summary>
    /// A configMap volume on cri is a bind mount of the kubelet's atomically swapped directory: an edit of the ConfigMap
    /// reaches the running container (the kubelet's refresh, then the ..data symlink swap inside the mount), and
    /// `kubectl logs -f` streams the container's CRI log file as it grows, across the change.
    /// </summary>
    [SkippableFact]
    public async Task A_config_map_edit_reaches_the_running_container_and_logs_follow_streams_it()
    {
        Skip.If(cluster.Missing is not null, cluster.Missing);
        await cluster.ApplyAsync("watcher", """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: watched}
            data: {value: first}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: watcher}
            spec:
              nodeName: cri-stream
              terminationGracePeriodSeconds: 1
              volumes: [{name: conf, configMap: {name: watched}}]
              containers:
              - name: watcher
                image: akkakube/busybox
                volumeMounts: [{name: conf, mountPath: /etc/watched, readOnly: true}]
                command: [sh, -c, 'i=0; while true; do i=$((i+1)); echo "tick $i value=$(cat /etc/watched/value)"; sleep 1; done']
            """);
        var running = await cluster.KubectlAsync("wait", "--for=condition=Ready", "pod/watcher", "--timeout=120s");
        Assert.True(running.ExitCode == 0, running.Output);

        var psi = new ProcessStartInfo("kubectl") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in cluster.Kubectl("logs", "-f", "watcher")) psi.ArgumentList.Add(a);
        foreach (var (k, v) in cluster.Env) psi.Environment[k] = v;
        using var follow = Process.Start(psi)!;
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var stderr = follow.StandardError.ReadToEndAsync();
        var reader = Task.Run(async () =>
        {
            while (await follow.StandardOutput.ReadLineAsync() is { } line) lines.Enqueue(line);
        });
        try
        {
            string Seen() => string.Join('\n', lines.TakeLast(5));
            await FailoverSupport.EventuallyAsync(() => Task.FromResult(lines.Any(l => l.EndsWith("value=first", StringComparison.Ordinal))),
                TimeSpan.FromSeconds(60), "logs -f shows the first value");
            var patched = await cluster.KubectlAsync("patch", "configmap", "watched", "-p", """{"data":{"value":"second"}}""");
            Assert.True(patched.ExitCode == 0, patched.Output);
            // The kubelet rewrites API-sourced volumes every 10 s (its sync period); the container reads once a second.
            await FailoverSupport.EventuallyAsync(() => Task.FromResult(lines.Any(l => l.EndsWith("value=second", StringComparison.Ordinal)) || follow.HasExited),
                TimeSpan.FromSeconds(90), "logs -f shows the edited value");
            Assert.False(follow.HasExited, "kubectl logs -f ended: " + Seen() + "\n" + (follow.HasExited ? await stderr : ""));
            Assert.Contains(lines, l => l.EndsWith("value=second", StringComparison.Ordinal));
            // One stream, in order: ticks never go backwards across the swap.
            var ticks = lines.Select(l => l.Split(' ')).Where(p => p.Length == 3 && p[0] == "tick").Select(p => int.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(ticks.OrderBy(t => t), ticks);
            var exec = await cluster.KubectlAsync("exec", "watcher", "--", "cat", "/etc/watched/value");
            Assert.Equal("second", exec.Stdout);
        }
        finally
        {
            if (!follow.HasExited) follow.Kill();
            await follow.WaitForExitAsync();
            await reader;
        }
    }

    /// <summary>
    /// kubectl debug on cri: the ephemeral container is a container in the pod's sandbox (same network namespace, the pod
    /// IP) that joins the target's process namespace (CRI NamespaceMode TARGET), and debug -i attaches to it.
    /// </summary>
    [SkippableFact]
    public async Task Debug_runs_an_ephemeral_container_in_the_pods_sandbox_that_sees_the_targets_processes()
    {
        Skip.If(cluster.Missing is not null, cluster.Missing);
        var debug = await cluster.KubectlAsync("debug", Cluster.Pod, "--image=akkakube/busybox", "--target=shell", "-c", "dbg", "--",
            "sh", "-c", $"ps; grep -q {cluster.PodIp} /proc/net/fib_trie && echo same-network-namespace");
        Assert.True(debug.ExitCode == 0, debug.Output);
        await FailoverSupport.EventuallyAsync(async () =>
                (await cluster.KubectlAsync("get", "pod", Cluster.Pod, "-o", "jsonpath={.status.ephemeralContainerStatuses[?(@.name==\"dbg\")].state.terminated.reason}")).Stdout == "Completed",
            TimeSpan.FromSeconds(60), "the debug container completed");
        var logs = await cluster.KubectlAsync("logs", Cluster.Pod, "-c", "dbg");
        Assert.True(logs.ExitCode == 0, logs.Output);
        Assert.Contains("httpd -f -p 8080", logs.Stdout); // the target's process, seen from the debug container
        Assert.Contains("same-network-namespace", logs.Stdout);
        var id = (await cluster.KubectlAsync("get", "pod", Cluster.Pod, "-o", "jsonpath={.status.ephemeralContainerStatuses[0].containerID}")).Stdout;
        Assert.StartsWith("containerd://", id);

        var command = string.Join(' ', cluster.Kubectl("debug", "-i", Cluster.Pod, "--image=akkakube/busybox", "-c", "dbg-i", "--", "sh").Select(Quote));
        // stdin stays open as a user's terminal would: on a container without stdinOnce, containerd detaches the session's
        // stdout the moment its stdin ends, so an EOF sent with the input could race the shell's answer
        var r = await ProcessRunner.RunAsync("sh", ["-c", "{ printf 'echo hi-from-$(hostname)\\nexit 0\\n'; sleep 5; } | kubectl " + command], TimeSpan.FromSeconds(60), env: cluster.Env);
        Assert.True(r.ExitCode == 0, r.Output);
        Assert.Contains("hi-from-" + Cluster.Pod, r.Stdout);
    }

    /// <summary>
    /// securityContext the kubelet enforces on cri: runAsNonRoot refuses the busybox image (no user in its config: root)
    /// with CreateContainerConfigError and the kubelet's words, runs it with runAsUser 1000; seccompProfile reaches runc.
    /// </summary>
    [SkippableFact]
    public async Task RunAsNonRoot_refuses_a_root_image_and_seccomp_profiles_reach_the_container()
    {
        Skip.If(cluster.Missing is not null, cluster.Missing);
        await cluster.ApplyAsync("secure", """
            apiVersion: v1
            kind: Pod
            metadata: {name: secure}
            spec:
              nodeName: cri-stream
              terminationGracePeriodSeconds: 1
              containers:
              - name: rootimage
                image: akkakube/busybox
                command: [sleep, "3600"]
                securityContext: {runAsNonRoot: true}
              - name: uid1000
                image: akkakube/busybox
                command: [sh, -c, 'echo uid=$(id -u); sleep 3600']
                securityContext: {runAsNonRoot: true, runAsUser: 1000}
              - name: runtimedefault
                image: akkakube/busybox
                command: [sh, -c, 'grep Seccomp: /proc/self/status; sleep 3600']
                securityContext: {seccompProfile: {type: RuntimeDefault}}
              - name: unconfined
                image: akkakube/busybox
                command: [sh, -c, 'grep Seccomp: /proc/self/status; sleep 3600']
                securityContext: {seccompProfile: {type: Unconfined}}
            """);
        string waiting = "";
        await FailoverSupport.EventuallyAsync(async () =>
        {
            waiting = (await cluster.KubectlAsync("get", "pod", "secure", "-o",
                "jsonpath={.status.containerStatuses[?(@.name==\"rootimage\")].state.waiting.reason}: {.status.containerStatuses[?(@.name==\"rootimage\")].state.waiting.message}")).Stdout;
            // (a first CreateContainerConfigError may be a passing one, e.g. the ServiceAccount token not there yet: retried)
            return waiting.StartsWith("CreateContainerConfigError", StringComparison.Ordinal) && waiting.Contains("runAsNonRoot", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(60), "rootimage refused");
        Assert.Contains("container has runAsNonRoot and image will run as root (pod: \"secure_default(", waiting);
        Assert.Contains("container: rootimage)", waiting);
        var logs = new Dictionary<string, string>();
        await FailoverSupport.EventuallyAsync(async () =>
        {
            foreach (var c in new[] { "uid1000", "runtimedefault", "unconfined" })
                logs[c] = (await cluster.KubectlAsync("logs", "secure", "-c", c)).Stdout;
            return logs.Values.All(l => l.EndsWith('\n'));
        }, TimeSpan.FromSeconds(60), "the three containers' first line");
        Assert.Equal("uid=1000\n", logs["uid1000"]);
        Assert.Matches(@"^Seccomp:\s+2\n", logs["runtimedefault"]); // 2 = a filter
        Assert.Matches(@"^Seccomp:\s+0\n", logs["unconfined"]); // 0 = none
        await cluster.KubectlAsync("delete", "pod", "secure", "--wait=false");
    }

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''") + "'";
}
