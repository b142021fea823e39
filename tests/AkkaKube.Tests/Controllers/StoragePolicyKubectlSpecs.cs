using AkkaKube.Tests.Failover;
using AkkaKube.Tests.Infrastructure;
using AkkaKube.Tests.Kubectl;

namespace AkkaKube.Tests.Controllers;

/// <summary>
/// Volumes, quotas, limit ranges, disruption budgets and leader leases on a real cluster (one control-plane node and
/// two workers as processes, pods as host processes), driven through the real kubectl.
/// </summary>
public sealed class StoragePolicyKubectlSpecs(StoragePolicyKubectlSpecs.Cluster cluster) : IClassFixture<StoragePolicyKubectlSpecs.Cluster>
{
    public sealed class Cluster : LocalCluster
    {
        private KubectlRunner? _kubectl;

        public KubectlRunner Kubectl
        {
            get
            {
                if (_kubectl is not null) return _kubectl;
                var dir = Path.Combine(DataDirectory, "kubectl");
                Directory.CreateDirectory(dir);
                _kubectl = new KubectlRunner(dir);
                _kubectl.UseKubeconfig(KubeconfigPath);
                return _kubectl;
            }
        }
    }

    private static void SkipWithoutKubectl() => Skip.If(KubectlRunner.KubectlPath is null, "kubectl is not on PATH");

    private async Task<KubectlRunner.Result> Ok(string args, string? stdin = null)
    {
        var r = await cluster.Kubectl.Run(args, stdin, 90);
        Assert.True(r.Exit == 0, $"kubectl {args} exited {r.Exit}: {r.Err}{r.Out}");
        return r;
    }

    /// <summary>kubectl until it succeeds (the first write of a kind waits for its store partition; kubectl does not retry a 504).</summary>
    private async Task<KubectlRunner.Result> Eventually(string args, string? stdin = null, Func<KubectlRunner.Result, bool>? until = null, int seconds = 90)
    {
        KubectlRunner.Result? last = null;
        await FailoverSupport.EventuallyAsync(async () =>
        {
            last = await cluster.Kubectl.Run(args, stdin, 60);
            return last.Exit == 0 && (until?.Invoke(last) ?? true);
        }, TimeSpan.FromSeconds(seconds), $"kubectl {args} (last: {last?.Exit} {last?.Out}{last?.Err})");
        return last!;
    }

    private static string Pod(string name, string ns, string script, string claim, string workingDir = "") => $$"""
        apiVersion: v1
        kind: Pod
        metadata: {name: {{name}}, namespace: {{ns}}}
        spec:
          terminationGracePeriodSeconds: 1
          containers:
          - name: c
            image: busybox
            command: [sh, -c, '{{script}}']
            {{workingDir}}
            volumeMounts: [{name: data, mountPath: /data}]
          volumes:
          - name: data
            persistentVolumeClaim: {claimName: {{claim}}}
        """;

    [SkippableFact]
    public async Task A_claim_without_a_class_binds_on_its_first_pods_node_and_its_data_outlives_the_pod()
    {
        SkipWithoutKubectl();
        const string ns = "volumes";
        await Eventually($"create namespace {ns}");
        await Eventually($"apply -f -", """
            apiVersion: v1
            kind: PersistentVolumeClaim
            metadata: {name: data, namespace: volumes}
            spec:
              accessModes: [ReadWriteOnce]
              resources: {requests: {storage: 16Mi}}
            """);
        // DefaultStorageClass admission gave it the bootstrap class; WaitForFirstConsumer keeps it Pending
        Assert.Equal("standard", (await Ok($"get pvc data -n {ns} -o jsonpath={{.spec.storageClassName}}")).Out);
        Assert.Equal("Pending", (await Ok($"get pvc data -n {ns} -o jsonpath={{.status.phase}}")).Out);
        Assert.Contains("standard (default)", (await Ok("get storageclass")).Out);

        await Ok("apply -f -", Pod("writer", ns, "echo kept-across-pods > $AKKAKUBE_VOLUME_DATA/greeting; sleep 600", "data"));
        await Ok($"wait --for=condition=Ready pod/writer -n {ns} --timeout=90s");
        var node = (await Ok($"get pod writer -n {ns} -o jsonpath={{.spec.nodeName}}")).Out;
        await Eventually($"get pvc data -n {ns} -o jsonpath={{.status.phase}}", until: r => r.Out == "Bound");
        Assert.Equal(node, (await Ok($"get pvc data -n {ns} -o jsonpath={{.metadata.annotations.volume\\.kubernetes\\.io/selected-node}}")).Out);
        Assert.Equal("yes", (await Ok($"get pvc data -n {ns} -o jsonpath={{.metadata.annotations.pv\\.kubernetes\\.io/bind-completed}}")).Out);
        var pv = (await Ok($"get pvc data -n {ns} -o jsonpath={{.spec.volumeName}}")).Out;
        var pvTable = (await Ok($"get pv {pv}")).Out;
        Assert.Contains($"{ns}/data", pvTable);
        Assert.Contains("Bound", pvTable);
        Assert.Contains("Delete", pvTable);
        Assert.Equal(node, (await Ok($"get pv {pv} -o jsonpath={{.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]}}")).Out);
        var dir = (await Ok($"get pv {pv} -o jsonpath={{.spec.local.path}}")).Out;
        await FailoverSupport.EventuallyAsync(() => Task.FromResult(File.Exists(Path.Combine(dir, "greeting"))), TimeSpan.FromSeconds(30), "the writer's file in the volume");

        await Ok($"delete pod writer -n {ns} --wait=true");
        // the replacement starts in the volume (workingDir is the mountPath) and lands on the volume's node
        await Ok("apply -f -", Pod("reader", ns, "cat greeting; sleep 600", "data", "workingDir: /data"));
        await Ok($"wait --for=condition=Ready pod/reader -n {ns} --timeout=90s");
        Assert.Equal(node, (await Ok($"get pod reader -n {ns} -o jsonpath={{.spec.nodeName}}")).Out);
        await Eventually($"logs reader -n {ns}", until: r => r.Out.Contains("kept-across-pods"));

        // reclaim policy Delete: the claim goes, the volume is released, deleted, and its node's kubelet removes the directory
        await Ok($"delete pod reader -n {ns} --wait=true");
        await Ok($"delete pvc data -n {ns} --wait=true");
        await Eventually($"get pv -o name", until: r => !r.Out.Contains(pv));
        Assert.False(Directory.Exists(dir), $"the volume's directory {dir} is gone with the volume");
    }

    [SkippableFact]
    public async Task A_pod_over_a_quota_is_refused_with_kubernetes_message_and_admitted_once_usage_is_given_back()
    {
        SkipWithoutKubectl();
        const string ns = "quota";
        await Eventually($"create namespace {ns}");
        await Eventually($"create quota compute -n {ns} --hard=pods=1,count/configmaps=5");
        // the quota controller computes the usage first; until then admission cannot decide ("status unknown")
        await Eventually($"get quota compute -n {ns} -o jsonpath={{.status.used.pods}}", until: r => r.Out == "0");
        await Ok($"run first --image=akkakube/pause -n {ns}");
        var refused = await cluster.Kubectl.Run($"run second --image=akkakube/pause -n {ns}");
        Assert.NotEqual(0, refused.Exit);
        Assert.Contains("Error from server (Forbidden): pods \"second\" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=1, limited: pods=1", refused.Err);
        Assert.Contains("pods: 1/1", (await Ok($"get quota compute -n {ns}")).Out);

        await Ok($"delete pod first -n {ns} --wait=true");
        await Eventually($"get quota compute -n {ns} -o jsonpath={{.status.used.pods}}", until: r => r.Out == "0");
        await Ok($"run second --image=akkakube/pause -n {ns}");
        Assert.Equal("1", (await Ok($"get quota compute -n {ns} -o jsonpath={{.status.used.pods}}")).Out);
    }

    [SkippableFact]
    public async Task A_limit_range_defaults_container_resources_and_refuses_a_container_over_its_maximum()
    {
        SkipWithoutKubectl();
        const string ns = "limits";
        await Eventually($"create namespace {ns}");
        await Eventually("apply -f -", """
            apiVersion: v1
            kind: LimitRange
            metadata: {name: defaults, namespace: limits}
            spec:
              limits:
              - type: Container
                default: {cpu: 200m, memory: 64Mi}
                defaultRequest: {cpu: 100m}
                max: {cpu: "1"}
            """);
        await Ok($"run defaulted --image=akkakube/pause -n {ns}");
        var yaml = (await Ok($"get pod defaulted -n {ns} -o yaml")).Out;
        Assert.Contains("kubernetes.io/limit-ranger:", yaml);
        Assert.Contains("cpu: 200m", yaml);
        Assert.Equal("LimitRanger plugin set: cpu, memory request for container defaulted; cpu, memory limit for container defaulted",
            (await Ok($"get pod defaulted -n {ns} -o jsonpath={{.metadata.annotations.kubernetes\\.io/limit-ranger}}")).Out);
        Assert.Equal("200m 64Mi 100m 64Mi", (await Ok($"get pod defaulted -n {ns} -o 'jsonpath={{.spec.containers[0].resources.limits.cpu}} {{.spec.containers[0].resources.limits.memory}} {{.spec.containers[0].resources.requests.cpu}} {{.spec.containers[0].resources.requests.memory}}'")).Out);

        var refused = await cluster.Kubectl.Run("apply -f -", """
            apiVersion: v1
            kind: Pod
            metadata: {name: greedy, namespace: limits}
            spec:
              containers:
              - name: c
                image: akkakube/pause
                resources: {limits: {cpu: "2"}}
            """);
        Assert.NotEqual(0, refused.Exit);
        Assert.Contains("pods \"greedy\" is forbidden: maximum cpu usage per Container is 1, but limit is 2", refused.Err);
    }

    [SkippableFact]
    public async Task A_disruption_budget_shows_the_disruptions_its_deployment_allows()
    {
        SkipWithoutKubectl();
        const string ns = "budgets";
        await Eventually($"create namespace {ns}");
        await Eventually("apply -f -", """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web, namespace: budgets}
            spec:
              replicas: 3
              selector: {matchLabels: {app: web}}
              template:
                metadata: {labels: {app: web}}
                spec:
                  terminationGracePeriodSeconds: 1
                  containers: [{name: c, image: akkakube/pause}]
            ---
            apiVersion: policy/v1
            kind: PodDisruptionBudget
            metadata: {name: web, namespace: budgets}
            spec:
              maxUnavailable: 1
              selector: {matchLabels: {app: web}}
            """);
        await Eventually($"get deployment web -n {ns} -o jsonpath={{.status.readyReplicas}}", until: r => r.Out == "3");
        await Eventually($"get pdb web -n {ns} -o jsonpath={{.status.disruptionsAllowed}}", until: r => r.Out == "1");
        var table = (await Ok($"get pdb web -n {ns}")).Out;
        Assert.Matches(@"web\s+N/A\s+1\s+1\s+", table);
        Assert.Equal("3 2 3 True", (await Ok($"get pdb web -n {ns} -o 'jsonpath={{.status.expectedPods}} {{.status.desiredHealthy}} {{.status.currentHealthy}} {{.status.conditions[0].status}}'")).Out);

        // scaling the deployment up raises what the budget expects; until the new pod is ready nothing may be disrupted
        await Ok($"scale deployment web -n {ns} --replicas=4");
        await Eventually($"get pdb web -n {ns} -o jsonpath={{.status.expectedPods}}", until: r => r.Out == "4");
        await Eventually($"get pdb web -n {ns} -o jsonpath={{.status.disruptionsAllowed}}", until: r => r.Out == "1");
        Assert.Equal("4", (await Ok($"get pdb web -n {ns} -o jsonpath={{.status.currentHealthy}}")).Out);
    }

    [SkippableFact]
    public async Task The_scheduler_and_controller_manager_leases_name_the_node_hosting_them()
    {
        SkipWithoutKubectl();
        var controlPlane = cluster.State.Nodes.First(n => n.Roles.Contains("control-plane")).Name;
        foreach (var lease in new[] { "kube-scheduler", "kube-controller-manager" })
        {
            var holder = (await Eventually($"get lease {lease} -n kube-system -o jsonpath={{.spec.holderIdentity}}", until: r => r.Out.Length > 0)).Out;
            Assert.StartsWith(controlPlane + "_", holder);
            var renewed = (await Ok($"get lease {lease} -n kube-system -o jsonpath={{.spec.renewTime}}")).Out;
            await Eventually($"get lease {lease} -n kube-system -o jsonpath={{.spec.renewTime}}", until: r => r.Out != renewed, seconds: 30);
        }
        var table = (await Ok("get lease -n kube-system")).Out;
        Assert.Contains("kube-scheduler", table);
        Assert.Contains("kube-controller-manager", table);
    }
}
