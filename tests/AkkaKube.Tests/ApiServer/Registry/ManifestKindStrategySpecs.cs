using System.Net;
using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer.Registry;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Tests.ApiServer.Registry;

/// <summary>
/// The kinds real manifests use (issue 18): for each, a valid object that is accepted and an invalid one whose
/// 422 names the field — as strategy checks, and over HTTP against a running node (never a 500).
/// </summary>
public class ManifestKindStrategySpecs(ApiNode api) : IClassFixture<ApiNode>
{
    private static readonly ApiRegistry Registry = ApiRegistry.CreateBuiltIn();

    private const string Template = """{"metadata":{"labels":{"app":"a"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}""";
    private const string JobTemplate = """{"metadata":{"labels":{"app":"a"}},"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"busybox"}]}}""";

    /// <summary>resource, valid body, invalid body, the field the 422 must name.</summary>
    public static TheoryData<string, string, string, string> Cases => new()
    {
        { "serviceaccounts", """{"metadata":{"name":"sa1"}}""", """{"metadata":{"name":"Bad_Name"}}""", "metadata.name" },
        { "statefulsets", $$$"""{"metadata":{"name":"s1"},"spec":{"serviceName":"s","selector":{"matchLabels":{"app":"a"}},"template":{{{Template}}}}}""",
            $$$"""{"metadata":{"name":"s2"},"spec":{"podManagementPolicy":"Sometimes","selector":{"matchLabels":{"app":"a"}},"template":{{{Template}}}}}""", "spec.podManagementPolicy" },
        { "daemonsets", $$$"""{"metadata":{"name":"d1"},"spec":{"selector":{"matchLabels":{"app":"a"}},"template":{{{Template}}}}}""",
            $$$"""{"metadata":{"name":"d2"},"spec":{"selector":{"matchLabels":{"app":"b"}},"template":{{{Template}}}}}""", "spec.template.metadata.labels" },
        { "jobs", $$$"""{"metadata":{"name":"j1"},"spec":{"template":{{{JobTemplate}}}}}""",
            $$$"""{"metadata":{"name":"j2"},"spec":{"template":{{{Template}}}}}""", "spec.template.spec.restartPolicy" },
        { "cronjobs", """{"metadata":{"name":"c1"},"spec":{"schedule":"*/5 * * * *","jobTemplate":{"spec":{"template":""" + JobTemplate + "}}}}",
            """{"metadata":{"name":"c2"},"spec":{"schedule":"every minute","jobTemplate":{"spec":{"template":""" + JobTemplate + "}}}}", "spec.schedule" },
        { "roles", """{"metadata":{"name":"r1"},"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get","list"]}]}""",
            """{"metadata":{"name":"r2"},"rules":[{"apiGroups":[""],"resources":["pods"]}]}""", "rules[0].verbs" },
        { "clusterroles", """{"metadata":{"name":"cr1"},"rules":[{"nonResourceURLs":["/healthz"],"verbs":["get"]}]}""",
            """{"metadata":{"name":"cr2"},"rules":[{"apiGroups":[""],"verbs":["get"]}]}""", "rules[0].resources" },
        { "rolebindings", """{"metadata":{"name":"rb1"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"r1"},"subjects":[{"kind":"ServiceAccount","name":"sa1","namespace":"default"}]}""",
            """{"metadata":{"name":"rb2"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Deployment","name":"r1"}}""", "roleRef.kind" },
        { "clusterrolebindings", """{"metadata":{"name":"crb1"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cr1"},"subjects":[{"kind":"User","name":"jane"}]}""",
            """{"metadata":{"name":"crb2"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cr1"},"subjects":[{"kind":"Robot","name":"x"}]}""", "subjects[0].kind" },
        { "resourcequotas", """{"metadata":{"name":"q1"},"spec":{"hard":{"pods":"10","requests.cpu":"4"}}}""",
            """{"metadata":{"name":"q2"},"spec":{"hard":{"pods":"-1"}}}""", "spec.hard[pods]" },
        { "limitranges", """{"metadata":{"name":"l1"},"spec":{"limits":[{"type":"Container","default":{"cpu":"500m"}}]}}""",
            """{"metadata":{"name":"l2"},"spec":{"limits":[{"type":"Node"}]}}""", "spec.limits[0].type" },
        { "persistentvolumeclaims", """{"metadata":{"name":"p1"},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}}""",
            """{"metadata":{"name":"p2"},"spec":{"resources":{"requests":{"storage":"1Gi"}}}}""", "spec.accessModes" },
        { "persistentvolumes", """{"metadata":{"name":"pv1"},"spec":{"capacity":{"storage":"1Gi"},"accessModes":["ReadWriteOnce"],"hostPath":{"path":"/tmp/pv1"}}}""",
            """{"metadata":{"name":"pv2"},"spec":{"capacity":{"storage":"1Gi"},"accessModes":["ReadWriteOnce"]}}""", "spec" },
        { "storageclasses", """{"metadata":{"name":"sc1"},"provisioner":"kubernetes.io/no-provisioner"}""",
            """{"metadata":{"name":"sc2"}}""", "provisioner" },
        { "controllerrevisions", """{"metadata":{"name":"cr-1"},"revision":1,"data":{}}""", """{"metadata":{"name":"cr-2"},"revision":-1}""", "revision" },
        { "ingresses", """{"metadata":{"name":"i1"},"spec":{"rules":[{"host":"a.example","http":{"paths":[{"path":"/","pathType":"Prefix","backend":{"service":{"name":"s","port":{"number":80}}}}]}}]}}""",
            """{"metadata":{"name":"i2"},"spec":{"rules":[{"http":{"paths":[{"path":"/","backend":{"service":{"name":"s","port":{"number":80}}}}]}}]}}""", "spec.rules[0].http.paths[0].pathType" },
        { "ingressclasses", """{"metadata":{"name":"ic1"},"spec":{"controller":"example.com/ingress"}}""", """{"metadata":{"name":"ic2"},"spec":{}}""", "spec.controller" },
        { "networkpolicies", """{"metadata":{"name":"np1"},"spec":{"podSelector":{}}}""", """{"metadata":{"name":"np2"},"spec":{"policyTypes":["Sideways"]}}""", "spec.policyTypes[0]" },
        { "priorityclasses", """{"metadata":{"name":"high"},"value":1000}""", """{"metadata":{"name":"system-mine"},"value":1000}""", "metadata.name" },
        { "horizontalpodautoscalers", """{"metadata":{"name":"h1"},"spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"web"},"maxReplicas":5}}""",
            """{"metadata":{"name":"h2"},"spec":{"scaleTargetRef":{"kind":"Deployment","name":"web"},"minReplicas":3,"maxReplicas":2}}""", "spec.maxReplicas" },
        { "replicationcontrollers", $$$"""{"metadata":{"name":"rc1"},"spec":{"template":{{{Template}}}}}""", """{"metadata":{"name":"rc2"},"spec":{"selector":{"app":"a"}}}""", "spec.template.spec.containers" },
        { "podtemplates", """{"metadata":{"name":"pt1"},"template":{"spec":{"containers":[{"name":"c","image":"i"}]}}}""", """{"metadata":{"name":"pt2"},"template":{"spec":{}}}""", "template.spec.containers" },
        { "csidrivers", """{"metadata":{"name":"csi.example.com"},"spec":{}}""", """{"metadata":{"name":"Not Valid"},"spec":{}}""", "metadata.name" },
        { "csinodes", """{"metadata":{"name":"node-1"},"spec":{"drivers":[{"name":"csi.example.com","nodeID":"node-1"}]}}""",
            """{"metadata":{"name":"node-2"},"spec":{"drivers":[{"name":"csi.example.com"}]}}""", "spec.drivers[0].nodeID" },
        { "csistoragecapacities", """{"metadata":{"name":"cap1"},"storageClassName":"fast","capacity":"10Gi"}""",
            """{"metadata":{"name":"cap2"},"capacity":"10Gi"}""", "storageClassName" },
        { "runtimeclasses", """{"metadata":{"name":"gvisor"},"handler":"runsc"}""", """{"metadata":{"name":"bad"},"handler":"Not_A_Label"}""", "handler" },
        { "validatingwebhookconfigurations",
            """{"metadata":{"name":"vw1"},"webhooks":[{"name":"check.example.com","clientConfig":{"url":"https://127.0.0.1:9443/check"},"sideEffects":"None","admissionReviewVersions":["v1"]}]}""",
            """{"metadata":{"name":"vw2"},"webhooks":[{"name":"check.example.com","clientConfig":{"url":"https://127.0.0.1:9443/check"},"admissionReviewVersions":["v1"]}]}""", "webhooks[0].sideEffects" },
        { "mutatingwebhookconfigurations",
            """{"metadata":{"name":"mw1"},"webhooks":[{"name":"mutate.example.com","clientConfig":{"service":{"namespace":"default","name":"hook"}},"sideEffects":"None","admissionReviewVersions":["v1"]}]}""",
            """{"metadata":{"name":"mw2"},"webhooks":[{"name":"mutate","clientConfig":{"service":{"namespace":"default","name":"hook"}},"sideEffects":"None","admissionReviewVersions":["v1"]}]}""", "webhooks[0].name" },
        { "customresourcedefinitions",
            """{"metadata":{"name":"widgets.example.com"},"spec":{"group":"example.com","scope":"Namespaced","names":{"plural":"widgets","kind":"Widget"},"versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object"}}}]}}""",
            """{"metadata":{"name":"gadgets.example.com"},"spec":{"group":"example.com","scope":"Namespaced","names":{"plural":"gadgets","kind":"Gadget"},"versions":[{"name":"v1","served":true,"storage":false,"schema":{"openAPIV3Schema":{"type":"object"}}}]}}""", "spec.versions" },
        { "volumeattachments", """{"metadata":{"name":"va1"},"spec":{"attacher":"csi.example.com","nodeName":"n1","source":{"persistentVolumeName":"pv1"}}}""",
            """{"metadata":{"name":"va2"},"spec":{"attacher":"csi.example.com","source":{"persistentVolumeName":"pv1"}}}""", "spec.nodeName" },
    };

    // the preferred version (several versions of a kind are registered; the first is preferred)
    private static Registration Find(string resource) => Registry.Registrations.First(r => r.Resource.Resource == resource);

    private static JsonObject WithType(Registration r, string json)
    {
        var obj = (JsonObject)JsonNode.Parse(json)!;
        obj["apiVersion"] = r.Resource.ApiVersion;
        obj["kind"] = r.Resource.Kind;
        return obj;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_valid_object_passes_and_an_invalid_one_names_its_field(string resource, string valid, string invalid, string field)
    {
        var r = Find(resource);
        var good = WithType(r, valid);
        r.Strategy.Default(good);
        Assert.Empty(r.Strategy.ValidateWrite(good, null));
        var bad = WithType(r, invalid);
        r.Strategy.Default(bad);
        Assert.Contains(r.Strategy.ValidateWrite(bad, null), c => c.Field == field);
        Assert.Empty(TypedFields.UnknownFields(r.Strategy.Model, r.Resource.Kind, good));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Over_http_a_valid_object_is_created_and_an_invalid_one_is_422_never_500(string resource, string valid, string invalid, string field)
    {
        var r = Find(resource);
        var prefix = (r.Resource.Group.Length == 0 ? "/api/v1" : $"/apis/{r.Resource.Group}/{r.Resource.Version}") +
                     (r.Resource.Namespaced ? "/namespaces/default" : "") + "/" + r.Resource.Resource;
        var (created, body, _) = await api.Post(prefix, WithType(r, valid).ToJsonString());
        Assert.True(created is HttpStatusCode.Created or HttpStatusCode.Conflict, $"{created}: {body}");
        var (code, status, _) = await api.Post(prefix, WithType(r, invalid).ToJsonString());
        Assert.Equal((HttpStatusCode)422, code);
        Assert.Equal("Invalid", status!["reason"]!.GetValue<string>());
        Assert.Contains((JsonArray)status["details"]!["causes"]!, c => c!["field"]!.GetValue<string>() == field);
        var (listed, list, _) = await api.Get(prefix, "application/json;as=Table;v=v1;g=meta.k8s.io");
        Assert.Equal(HttpStatusCode.OK, listed);
        Assert.Equal(r.Strategy.Columns.Count, ((JsonArray)list!["columnDefinitions"]!).Count);
    }

    [Fact]
    public async Task The_system_priority_classes_exist_and_discovery_serves_the_new_kinds()
    {
        await AwaitAssertAsync(async () =>
        {
            var (code, body, _) = await api.Get("/apis/scheduling.k8s.io/v1/priorityclasses/system-node-critical");
            Assert.Equal(HttpStatusCode.OK, code);
            Assert.Equal(2_000_001_000, body!["value"]!.GetValue<long>());
        });
        var (_, batch, _) = await api.Get("/apis/batch/v1");
        Assert.Contains((JsonArray)batch!["resources"]!, e => e!["name"]!.GetValue<string>() == "cronjobs" && e["shortNames"]![0]!.GetValue<string>() == "cj");
        var (_, apis, _) = await api.Get("/apis", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList");
        var groups = ((JsonArray)apis!["items"]!).Select(i => i!["metadata"]!["name"]!.GetValue<string>()).ToList();
        foreach (var g in new[] { "apps", "batch", "autoscaling", "rbac.authorization.k8s.io", "networking.k8s.io", "storage.k8s.io", "scheduling.k8s.io" })
            Assert.Contains(g, groups);
    }

    private static async Task AwaitAssertAsync(Func<Task> check)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await check();
                return;
            }
            catch (Xunit.Sdk.XunitException) when (attempt < 60)
            {
                await Task.Delay(500);
            }
        }
    }
}
