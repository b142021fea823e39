using System.Text.RegularExpressions;

namespace AkkaKube.Tests.Kubectl;

/// <summary>
/// One multi-document manifest with an object of every kind real manifests use, applied with kubectl's DEFAULT
/// validation (it downloads OpenAPI v3 for every group-version) into a fresh namespace; then `kubectl get` prints
/// Kubernetes' columns and `kubectl api-resources` lists what Kubernetes lists.
/// </summary>
public class KubectlManifestSpecs(KubectlNode k) : IClassFixture<KubectlNode>
{
    private const string Namespace = "manifests";

    private const string PodTemplate = """
            metadata: {labels: {app: web}}
            spec:
              containers:
              - name: web
                image: nginx:1.27
                ports: [{containerPort: 80}]
        """;

    private static readonly string Manifest = $$$"""
        apiVersion: v1
        kind: Namespace
        metadata: {name: {{{Namespace}}}}
        ---
        apiVersion: v1
        kind: ServiceAccount
        metadata: {name: web, namespace: {{{Namespace}}}}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: web-config, namespace: {{{Namespace}}}}
        data: {greeting: hello}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: web-secret, namespace: {{{Namespace}}}}
        stringData: {password: s3cret}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, namespace: {{{Namespace}}}}
        spec:
          replicas: 2
          selector: {matchLabels: {app: web}}
          template:
        {{{PodTemplate}}}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: {{{Namespace}}}}
        spec:
          selector: {app: web}
          ports: [{port: 80, targetPort: 80}]
        ---
        apiVersion: apps/v1
        kind: StatefulSet
        metadata: {name: db, namespace: {{{Namespace}}}}
        spec:
          serviceName: db
          replicas: 1
          selector: {matchLabels: {app: web}}
          template:
        {{{PodTemplate}}}
          volumeClaimTemplates:
          - metadata: {name: data}
            spec:
              accessModes: [ReadWriteOnce]
              resources: {requests: {storage: 1Gi}}
        ---
        apiVersion: apps/v1
        kind: DaemonSet
        metadata: {name: agent, namespace: {{{Namespace}}}}
        spec:
          selector: {matchLabels: {app: web}}
          template:
        {{{PodTemplate}}}
        ---
        apiVersion: batch/v1
        kind: Job
        metadata: {name: once, namespace: {{{Namespace}}}}
        spec:
          template:
            spec:
              restartPolicy: Never
              containers: [{name: c, image: busybox:1.36, command: [echo, hi]}]
        ---
        apiVersion: batch/v1
        kind: CronJob
        metadata: {name: nightly, namespace: {{{Namespace}}}}
        spec:
          schedule: "0 3 * * *"
          jobTemplate:
            spec:
              template:
                spec:
                  restartPolicy: OnFailure
                  containers: [{name: c, image: busybox:1.36, command: [echo, hi]}]
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: Role
        metadata: {name: reader, namespace: {{{Namespace}}}}
        rules:
        - apiGroups: [""]
          resources: [pods, configmaps]
          verbs: [get, list, watch]
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: RoleBinding
        metadata: {name: web-reader, namespace: {{{Namespace}}}}
        roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
        subjects: [{kind: ServiceAccount, name: web, namespace: {{{Namespace}}}}]
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata: {name: manifests-aggregate}
        aggregationRule:
          clusterRoleSelectors: [{matchLabels: {rbac.example.com/aggregate-to-monitoring: "true"}}]
        rules: []
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRoleBinding
        metadata: {name: manifests-aggregate}
        roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: manifests-aggregate}
        subjects: [{kind: ServiceAccount, name: web, namespace: {{{Namespace}}}}]
        ---
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata: {name: data, namespace: {{{Namespace}}}}
        spec:
          accessModes: [ReadWriteOnce]
          resources: {requests: {storage: 1Gi}}
        ---
        apiVersion: v1
        kind: ResourceQuota
        metadata: {name: compute, namespace: {{{Namespace}}}}
        spec:
          hard: {pods: "20", requests.cpu: "4", requests.memory: 8Gi}
        ---
        apiVersion: v1
        kind: LimitRange
        metadata: {name: defaults, namespace: {{{Namespace}}}}
        spec:
          limits:
          - type: Container
            default: {cpu: 500m, memory: 256Mi}
            defaultRequest: {cpu: 100m, memory: 128Mi}
        ---
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {name: web, namespace: {{{Namespace}}}}
        spec:
          rules:
          - host: web.example.com
            http:
              paths:
              - path: /
                pathType: Prefix
                backend:
                  service: {name: web, port: {number: 80}}
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: web, namespace: {{{Namespace}}}}
        spec:
          podSelector: {matchLabels: {app: web}}
          policyTypes: [Ingress]
          ingress:
          - from:
            - podSelector: {matchLabels: {role: frontend}}
            ports: [{protocol: TCP, port: 80}]
        ---
        apiVersion: autoscaling/v2
        kind: HorizontalPodAutoscaler
        metadata: {name: web, namespace: {{{Namespace}}}}
        spec:
          scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
          minReplicas: 2
          maxReplicas: 10
          metrics:
          - type: Resource
            resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
        ---
        apiVersion: policy/v1
        kind: PodDisruptionBudget
        metadata: {name: web, namespace: {{{Namespace}}}}
        spec:
          minAvailable: 1
          selector: {matchLabels: {app: web}}
        ---
        apiVersion: scheduling.k8s.io/v1
        kind: PriorityClass
        metadata: {name: manifests-high}
        value: 1000000
        description: for the manifest test
        ---
        apiVersion: storage.k8s.io/v1
        kind: StorageClass
        metadata: {name: manifests-fast}
        provisioner: kubernetes.io/no-provisioner
        volumeBindingMode: WaitForFirstConsumer
        """;

    private void SkipWithoutKubectl() => Skip.If(KubectlNode.KubectlPath is null, "kubectl is not on PATH");

    [SkippableFact]
    public async Task One_file_of_every_kind_is_applied_with_default_validation_and_printed_with_kubernetes_columns()
    {
        SkipWithoutKubectl();
        var apply = await k.Run("apply -f -", Manifest, timeoutSeconds: 120);
        Assert.True(apply.Exit == 0, apply.Err);
        Assert.DoesNotContain("error", apply.Err);
        foreach (var created in new[]
                 {
                     "namespace/manifests", "serviceaccount/web", "configmap/web-config", "secret/web-secret", "deployment.apps/web",
                     "service/web", "statefulset.apps/db", "daemonset.apps/agent", "job.batch/once", "cronjob.batch/nightly",
                     "role.rbac.authorization.k8s.io/reader", "rolebinding.rbac.authorization.k8s.io/web-reader",
                     "clusterrole.rbac.authorization.k8s.io/manifests-aggregate", "clusterrolebinding.rbac.authorization.k8s.io/manifests-aggregate",
                     "persistentvolumeclaim/data", "resourcequota/compute", "limitrange/defaults", "ingress.networking.k8s.io/web",
                     "networkpolicy.networking.k8s.io/web", "horizontalpodautoscaler.autoscaling/web", "poddisruptionbudget.policy/web",
                     "priorityclass.scheduling.k8s.io/manifests-high", "storageclass.storage.k8s.io/manifests-fast",
                 })
            Assert.Contains(created + " created", apply.Out);

        var get = await k.Run($"get all,sa,role,rolebinding,pvc,quota,limits -n {Namespace}");
        Assert.True(get.Exit == 0, get.Err);
        foreach (var header in new[]
                 {
                     @"NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE",
                     @"NAME\s+DESIRED\s+CURRENT\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+NODE SELECTOR\s+AGE",
                     @"NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE",
                     @"NAME\s+READY\s+AGE",
                     @"NAME\s+REFERENCE\s+TARGETS\s+MINPODS\s+MAXPODS\s+REPLICAS\s+AGE",
                     @"NAME\s+SCHEDULE\s+TIMEZONE\s+SUSPEND\s+ACTIVE\s+LAST SCHEDULE\s+AGE",
                     @"NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE",
                     @"NAME\s+SECRETS\s+AGE",
                     @"NAME\s+CREATED AT",
                     @"NAME\s+ROLE\s+AGE",
                     @"NAME\s+STATUS\s+VOLUME\s+CAPACITY\s+ACCESS MODES\s+STORAGECLASS\s+VOLUMEATTRIBUTESCLASS\s+AGE",
                     @"NAME\s+AGE\s+REQUEST\s+LIMIT",
                 })
            Assert.Matches(header, get.Out);
        Assert.Matches(@"horizontalpodautoscaler.autoscaling/web\s+Deployment/web\s+cpu: <unknown>/50%\s+2\s+10", get.Out);
        Assert.Matches(@"cronjob.batch/nightly\s+0 3 \* \* \*", get.Out);
        Assert.Contains("rolebinding.rbac.authorization.k8s.io/web-reader", get.Out);
        Assert.Contains("Role/reader", get.Out);

        // applied again, every object is accepted (some report "configured": defaults inside atomic lists, docs/api.md)
        var again = await k.Run("apply -f -", Manifest, timeoutSeconds: 120);
        Assert.True(again.Exit == 0, again.Err);
        Assert.Contains("deployment.apps/web unchanged", again.Out);
    }

    /// <summary>(name, short names, namespaced, kind, verbs) as Kubernetes v1.32's `kubectl api-resources -o wide` prints them.</summary>
    public static TheoryData<string, string, bool, string> Resources => new()
    {
        { "serviceaccounts", "sa", true, "ServiceAccount" },
        { "resourcequotas", "quota", true, "ResourceQuota" },
        { "limitranges", "limits", true, "LimitRange" },
        { "persistentvolumeclaims", "pvc", true, "PersistentVolumeClaim" },
        { "persistentvolumes", "pv", false, "PersistentVolume" },
        { "replicationcontrollers", "rc", true, "ReplicationController" },
        { "statefulsets", "sts", true, "StatefulSet" },
        { "daemonsets", "ds", true, "DaemonSet" },
        { "cronjobs", "cj", true, "CronJob" },
        { "horizontalpodautoscalers", "hpa", true, "HorizontalPodAutoscaler" },
        { "ingresses", "ing", true, "Ingress" },
        { "networkpolicies", "netpol", true, "NetworkPolicy" },
        { "storageclasses", "sc", false, "StorageClass" },
        { "priorityclasses", "pc", false, "PriorityClass" },
        { "customresourcedefinitions", "crd,crds", false, "CustomResourceDefinition" },
        { "poddisruptionbudgets", "pdb", true, "PodDisruptionBudget" },
    };

    [SkippableFact]
    public async Task Api_resources_lists_at_least_45_resources_with_short_names_scope_and_verbs()
    {
        SkipWithoutKubectl();
        var r = await k.Run("api-resources -o wide");
        Assert.True(r.Exit == 0, r.Err);
        var lines = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).ToList();
        Assert.True(lines.Count >= 45, $"{lines.Count} resources:\n{r.Out}");
        foreach (var row in Resources)
        {
            var (name, shortNames, namespaced, kind) = ((string)row[0], (string)row[1], (bool)row[2], (string)row[3]);
            Assert.Contains(lines, l => Regex.IsMatch(l,
                $@"^{name}\s+{Regex.Escape(shortNames)}\s+\S+\s+{(namespaced ? "true" : "false")}\s+{kind}\s+create,delete,deletecollection,get,list,patch,update,watch(\s|$)"));
        }
        // names without short names, and the two views of events
        Assert.Contains(lines, l => Regex.IsMatch(l, @"^roles\s+rbac.authorization.k8s.io/v1\s+true\s+Role\s"));
        Assert.Contains(lines, l => Regex.IsMatch(l, @"^clusterroles\s+rbac.authorization.k8s.io/v1\s+false\s+ClusterRole\s"));
        Assert.Contains(lines, l => Regex.IsMatch(l, @"^events\s+ev\s+v1\s+true\s+Event\s"));
        Assert.Contains(lines, l => Regex.IsMatch(l, @"^events\s+ev\s+events.k8s.io/v1\s+true\s+Event\s"));
        Assert.Contains(lines, l => Regex.IsMatch(l, @"^namespaces\s+ns\s+v1\s+false\s+Namespace\s+create,delete,get,list,patch,update,watch(\s|$)"));
    }
}
