using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer;

namespace AkkaKube.Tests.ApiServer;

/// <summary>The apiserver over HTTP against a real in-process node (store included).</summary>
public class ApiHttpSpecs(ApiNode api) : IClassFixture<ApiNode>
{
    private const string Ns = "/api/v1/namespaces/default";

    private static string ConfigMap(string name, string extra = "") =>
        $$"""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"{{name}}"},"data":{"a":"1"}{{extra}}}""";

    private static string Deployment(string name, string selector = "web") => """
        {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"NAME"},
         "spec":{"replicas":1,"selector":{"matchLabels":{"app":"SELECTOR"}},
                 "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}
        """.Replace("NAME", name).Replace("SELECTOR", selector);

    [Fact]
    public async Task Version_reports_minor_32()
    {
        var (code, body, _) = await api.Get("/version");
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal("1", body!["major"]!.GetValue<string>());
        Assert.Equal("32", body["minor"]!.GetValue<string>());
    }

    [Fact]
    public async Task Aggregated_discovery_answers_with_the_exact_content_type()
    {
        const string accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        foreach (var path in new[] { "/api", "/apis" })
        {
            var (code, body, response) = await api.Get(path, accept);
            Assert.Equal(HttpStatusCode.OK, code);
            Assert.Equal(Discovery.AggregatedV2, response.Content.Headers.ContentType!.ToString().Replace("; ", ";"));
            Assert.Equal("APIGroupDiscoveryList", body!["kind"]!.GetValue<string>());
        }
        var (_, apis, _) = await api.Get("/apis", accept);
        var apps = apis!["items"]!.AsArray().Single(i => i!["metadata"]!["name"]?.GetValue<string>() == "apps")!;
        var deployments = apps["versions"]![0]!["resources"]!.AsArray().Single(r => r!["resource"]!.GetValue<string>() == "deployments")!;
        Assert.Contains(deployments["subresources"]!.AsArray(), s => s!["subresource"]!.GetValue<string>() == "scale");
    }

    [Fact]
    public async Task Legacy_discovery_lists_pods_eviction_and_openapi_v3_has_every_group_version()
    {
        var (_, v1, _) = await api.Get("/api/v1");
        var eviction = v1!["resources"]!.AsArray().Single(r => r!["name"]!.GetValue<string>() == "pods/eviction")!;
        Assert.Equal("policy", eviction["group"]!.GetValue<string>());
        var (code, root, _) = await api.Get("/openapi/v3");
        Assert.Equal(HttpStatusCode.OK, code);
        var url = root!["paths"]!["apis/apps/v1"]!["serverRelativeURL"]!.GetValue<string>();
        var (docCode, doc, _) = await api.Get(url);
        Assert.Equal(HttpStatusCode.OK, docCode);
        Assert.NotNull(doc!["paths"]!["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]!["patch"]!["x-kubernetes-group-version-kind"]);
        var (v2Code, v2, _) = await api.Get("/openapi/v2");
        Assert.Equal(HttpStatusCode.OK, v2Code);
        Assert.Equal("2.0", v2!["swagger"]!.GetValue<string>());
        // kubectl asks for protobuf only (client-side validation); a type it does not name is 406
        var (pbCode, _, _) = await api.Send(HttpMethod.Get, "/openapi/v2", accept: "application/com.github.proto-openapi.spec.v2@v1.0+protobuf");
        Assert.Equal(HttpStatusCode.OK, pbCode);
        var (otherCode, _, _) = await api.Send(HttpMethod.Get, "/openapi/v2", accept: "application/vnd.kubernetes.protobuf");
        Assert.Equal(HttpStatusCode.NotAcceptable, otherCode);
        Assert.Equal(HttpStatusCode.OK, (await api.Get("/healthz")).Code);
    }

    [Fact]
    public async Task Create_get_update_delete_a_config_map()
    {
        var (code, created, _) = await api.Post($"{Ns}/configmaps", ConfigMap("crud"));
        Assert.Equal(HttpStatusCode.Created, code);
        Assert.False(string.IsNullOrEmpty(created!["metadata"]!["uid"]!.GetValue<string>()));
        var (getCode, got, _) = await api.Get($"{Ns}/configmaps/crud");
        Assert.Equal(HttpStatusCode.OK, getCode);
        got!["data"]!["a"] = "2";
        var (putCode, put, _) = await api.Send(HttpMethod.Put, $"{Ns}/configmaps/crud", got.ToJsonString());
        Assert.Equal(HttpStatusCode.OK, putCode);
        Assert.Equal("2", put!["data"]!["a"]!.GetValue<string>());
        // the old resourceVersion is stale now
        var (staleCode, stale, _) = await api.Send(HttpMethod.Put, $"{Ns}/configmaps/crud", got.ToJsonString());
        Assert.Equal(HttpStatusCode.Conflict, staleCode);
        Assert.Equal("Conflict", stale!["reason"]!.GetValue<string>());
        var (delCode, _, _) = await api.Send(HttpMethod.Delete, $"{Ns}/configmaps/crud");
        Assert.Equal(HttpStatusCode.OK, delCode);
        var (goneCode, gone, _) = await api.Get($"{Ns}/configmaps/crud");
        Assert.Equal(HttpStatusCode.NotFound, goneCode);
        Assert.Equal("configmaps \"crud\" not found", gone!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Duplicates_are_409_already_exists_and_missing_namespaces_404()
    {
        await api.Post($"{Ns}/configmaps", ConfigMap("dup"));
        var (code, body, _) = await api.Post($"{Ns}/configmaps", ConfigMap("dup"));
        Assert.Equal(HttpStatusCode.Conflict, code);
        Assert.Equal("AlreadyExists", body!["reason"]!.GetValue<string>());
        var (nsCode, nsBody, _) = await api.Post("/api/v1/namespaces/nowhere/configmaps", ConfigMap("x"));
        Assert.Equal(HttpStatusCode.NotFound, nsCode);
        Assert.Equal("namespaces \"nowhere\" not found", nsBody!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Creates_follow_the_namespace_lifecycle_when_the_informer_cache_answers()
    {
        // A finalizer of our own keeps the namespace terminating after the delete, so the answer is 403, not a race with 404.
        const string ns = "lifecycle-cache";
        var (nsCode, _, _) = await api.Post("/api/v1/namespaces",
            $$$"""{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"{{{ns}}}","finalizers":["example.com/hold"]}}""");
        Assert.Equal(HttpStatusCode.Created, nsCode);
        // before the informer has it, the create looks the namespace up in the store
        Assert.Equal(HttpStatusCode.Created, (await api.Post($"/api/v1/namespaces/{ns}/configmaps", ConfigMap("first"))).Code);
        var lister = AkkaKube.Actors.ApiServer.Admission.NamespaceLister.Get(api.Node.System);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!lister.KnownActive(ns) && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.True(lister.KnownActive(ns), "the namespaces informer never showed the namespace active");
        Assert.Equal(HttpStatusCode.Created, (await api.Post($"/api/v1/namespaces/{ns}/configmaps", ConfigMap("cached"))).Code);

        // deleted: the very next create is refused although the watch event may not have arrived yet
        Assert.Equal(HttpStatusCode.OK, (await api.Send(HttpMethod.Delete, $"/api/v1/namespaces/{ns}")).Code);
        var (code, body, _) = await api.Post($"/api/v1/namespaces/{ns}/configmaps", ConfigMap("late"));
        Assert.Equal(HttpStatusCode.Forbidden, code);
        Assert.Equal("Forbidden", body!["reason"]!.GetValue<string>());
        Assert.Equal($"configmaps \"{ns}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
            body["message"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, (await api.Get($"/api/v1/namespaces/{ns}/configmaps/late")).Code);
        Assert.False(lister.KnownActive(ns));
    }

    [Fact]
    public async Task Invalid_objects_are_422_with_causes()
    {
        var (code, body, _) = await api.Post("/apis/apps/v1/namespaces/default/deployments", Deployment("bad", selector: "other"));
        Assert.Equal((HttpStatusCode)422, code);
        Assert.Equal("Invalid", body!["reason"]!.GetValue<string>());
        Assert.Equal("Deployment", body["details"]!["kind"]!.GetValue<string>());
        Assert.Contains(body["details"]!["causes"]!.AsArray(), c => c!["field"]!.GetValue<string>() == "spec.template.metadata.labels");
        Assert.Equal(HttpStatusCode.NotFound, (await api.Get("/apis/apps/v1/namespaces/default/deployments/bad")).Code);
    }

    [Fact]
    public async Task All_four_patch_types_work()
    {
        const string path = "/apis/apps/v1/namespaces/default/deployments/patched";
        Assert.Equal(HttpStatusCode.Created, (await api.Post("/apis/apps/v1/namespaces/default/deployments", Deployment("patched"))).Code);
        var (c1, b1, _) = await api.Send(HttpMethod.Patch, path, """{"spec":{"replicas":2}}""", "application/merge-patch+json");
        Assert.Equal(HttpStatusCode.OK, c1);
        Assert.Equal(2, b1!["spec"]!["replicas"]!.GetValue<int>());
        var (c2, b2, _) = await api.Send(HttpMethod.Patch, path, """[{"op":"replace","path":"/spec/replicas","value":3}]""", "application/json-patch+json");
        Assert.Equal(HttpStatusCode.OK, c2);
        Assert.Equal(3, b2!["spec"]!["replicas"]!.GetValue<int>());
        var (c3, b3, _) = await api.Send(HttpMethod.Patch, path, """{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"busybox"}]}}}}""", "application/strategic-merge-patch+json");
        Assert.Equal(HttpStatusCode.OK, c3);
        Assert.Equal(2, b3!["spec"]!["template"]!["spec"]!["containers"]!.AsArray().Count);
        var (c4, b4, _) = await api.Send(HttpMethod.Patch, path + "?fieldManager=test&force=true",
            """{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"patched","labels":{"applied":"yes"}}}""", "application/apply-patch+yaml");
        Assert.Equal(HttpStatusCode.OK, c4);
        Assert.Equal("yes", b4!["metadata"]!["labels"]!["applied"]!.GetValue<string>());
        Assert.Contains(b4["metadata"]!["managedFields"]!.AsArray(), m => m!["manager"]!.GetValue<string>() == "test");
        var (c5, _, _) = await api.Send(HttpMethod.Patch, path, """{"spec":{}}""", "text/plain");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, c5);
    }

    [Fact]
    public async Task Server_side_apply_creates_when_missing()
    {
        var (code, body, _) = await api.Send(HttpMethod.Patch, $"{Ns}/configmaps/applied?fieldManager=kubectl&fieldValidation=Strict&force=false",
            ConfigMap("applied"), "application/apply-patch+yaml");
        Assert.Equal(HttpStatusCode.Created, code);
        Assert.Equal("1", body!["data"]!["a"]!.GetValue<string>());
    }

    [Fact]
    public async Task Scale_subresource_reads_and_writes_replicas()
    {
        await api.Post("/apis/apps/v1/namespaces/default/deployments", Deployment("scaled"));
        var (code, scale, _) = await api.Get("/apis/apps/v1/namespaces/default/deployments/scaled/scale");
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal("Scale", scale!["kind"]!.GetValue<string>());
        Assert.Equal("app=web", scale["status"]!["selector"]!.GetValue<string>());
        var (pc, patched, _) = await api.Send(HttpMethod.Patch, "/apis/apps/v1/namespaces/default/deployments/scaled/scale", """{"spec":{"replicas":5}}""", "application/merge-patch+json");
        Assert.Equal(HttpStatusCode.OK, pc);
        Assert.Equal(5, patched!["spec"]!["replicas"]!.GetValue<int>());
        var (_, d, _) = await api.Get("/apis/apps/v1/namespaces/default/deployments/scaled");
        Assert.Equal(5, d!["spec"]!["replicas"]!.GetValue<int>());
    }

    [Fact]
    public async Task Binding_sets_the_node_once()
    {
        await api.Post($"{Ns}/pods", """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"bindme"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}""");
        const string binding = """{"apiVersion":"v1","kind":"Binding","metadata":{"name":"bindme"},"target":{"kind":"Node","name":"node-1"}}""";
        Assert.Equal(HttpStatusCode.Created, (await api.Post($"{Ns}/pods/bindme/binding", binding)).Code);
        var (_, pod, _) = await api.Get($"{Ns}/pods/bindme");
        Assert.Equal("node-1", pod!["spec"]!["nodeName"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Conflict, (await api.Post($"{Ns}/pods/bindme/binding", binding)).Code);
        // no Node "node-1" is registered here: the log's kubelet cannot be looked up, as kube-apiserver answers it
        var (logCode, log, _) = await api.Get($"{Ns}/pods/bindme/log");
        Assert.Equal(HttpStatusCode.NotFound, logCode);
        Assert.Equal("Status", log!["kind"]!.GetValue<string>());
        Assert.Contains("nodes \"node-1\" not found", log["message"]!.GetValue<string>());
        var (evictCode, _, _) = await api.Post($"{Ns}/pods/bindme/eviction", """{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"bindme"}}""");
        Assert.Equal(HttpStatusCode.Created, evictCode);
        // A bound pod is deleted gracefully: Terminating until its kubelet (none here) removes it with grace 0.
        var (_, terminating, _) = await api.Get($"{Ns}/pods/bindme");
        Assert.NotNull(terminating!["metadata"]!["deletionTimestamp"]);
        Assert.Equal(30, terminating["metadata"]!["deletionGracePeriodSeconds"]!.GetValue<long>());
        Assert.Equal(HttpStatusCode.OK, (await api.Send(HttpMethod.Delete, $"{Ns}/pods/bindme", """{"gracePeriodSeconds":0}""")).Code);
        Assert.Equal(HttpStatusCode.NotFound, (await api.Get($"{Ns}/pods/bindme")).Code);
    }

    [Fact]
    public async Task A_bound_pod_is_deleted_gracefully_an_unbound_one_at_once()
    {
        await api.Post($"{Ns}/pods", """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"free"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}""");
        var (freeCode, freeBody, _) = await api.Send(HttpMethod.Delete, $"{Ns}/pods/free", null);
        Assert.Equal((HttpStatusCode.OK, "Status"), (freeCode, freeBody!["kind"]!.GetValue<string>()));
        Assert.Equal(HttpStatusCode.NotFound, (await api.Get($"{Ns}/pods/free")).Code);

        await api.Post($"{Ns}/pods", """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"bound"},"spec":{"nodeName":"node-1","terminationGracePeriodSeconds":40,"containers":[{"name":"c","image":"busybox"}]}}""");
        var (code, marked, _) = await api.Send(HttpMethod.Delete, $"{Ns}/pods/bound", null);
        Assert.Equal((HttpStatusCode.OK, "Pod"), (code, marked!["kind"]!.GetValue<string>()));
        Assert.Equal(40, marked["metadata"]!["deletionGracePeriodSeconds"]!.GetValue<long>());
        var deadline = DateTime.Parse(marked["metadata"]!["deletionTimestamp"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture).ToUniversalTime();
        Assert.InRange(deadline, DateTime.UtcNow.AddSeconds(20), DateTime.UtcNow.AddSeconds(60));

        // A status write of the kubelet does not end it; a shorter grace shortens it; grace 0 removes it.
        var (_, current, _) = await api.Get($"{Ns}/pods/bound");
        current!["status"] = new JsonObject { ["phase"] = "Running" };
        Assert.Equal(HttpStatusCode.OK, (await api.Send(HttpMethod.Put, $"{Ns}/pods/bound/status", current.ToJsonString())).Code);
        Assert.Equal(HttpStatusCode.OK, (await api.Get($"{Ns}/pods/bound")).Code);
        var (_, shorter, _) = await api.Send(HttpMethod.Delete, $"{Ns}/pods/bound?gracePeriodSeconds=5", null);
        Assert.Equal(5, shorter!["metadata"]!["deletionGracePeriodSeconds"]!.GetValue<long>());
        var (_, longer, _) = await api.Send(HttpMethod.Delete, $"{Ns}/pods/bound", """{"gracePeriodSeconds":100}""");
        Assert.Equal(5, longer!["metadata"]!["deletionGracePeriodSeconds"]!.GetValue<long>());
        var (badCode, bad, _) = await api.Send(HttpMethod.Delete, $"{Ns}/pods/bound?gracePeriodSeconds=soon", null);
        Assert.Equal((HttpStatusCode.BadRequest, "BadRequest"), (badCode, bad!["reason"]!.GetValue<string>()));
        var (goneCode, gone, _) = await api.Send(HttpMethod.Delete, $"{Ns}/pods/bound", """{"gracePeriodSeconds":0}""");
        Assert.Equal((HttpStatusCode.OK, "Status"), (goneCode, gone!["kind"]!.GetValue<string>()));
        Assert.Equal(HttpStatusCode.NotFound, (await api.Get($"{Ns}/pods/bound")).Code);
    }

    [Fact]
    public async Task Status_updates_change_only_status()
    {
        var (_, pod, _) = await api.Post($"{Ns}/pods", """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"st"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}""");
        pod!["status"]!["phase"] = "Running";
        pod["metadata"]!["labels"] = new JsonObject { ["ignored"] = "yes" };
        var (code, updated, _) = await api.Send(HttpMethod.Put, $"{Ns}/pods/st/status", pod.ToJsonString());
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal("Running", updated!["status"]!["phase"]!.GetValue<string>());
        Assert.Null(updated["metadata"]!["labels"]);
        // and a main-resource update keeps the status
        updated["status"]!["phase"] = "Failed";
        var (_, main, _) = await api.Send(HttpMethod.Put, $"{Ns}/pods/st", updated.ToJsonString());
        Assert.Equal("Running", main!["status"]!["phase"]!.GetValue<string>());
    }

    [Fact]
    public async Task Delete_with_orphan_records_the_finalizer()
    {
        await api.Post("/apis/apps/v1/namespaces/default/deployments", Deployment("orphaned"));
        var (code, body, _) = await api.Send(HttpMethod.Delete, "/apis/apps/v1/namespaces/default/deployments/orphaned", """{"propagationPolicy":"Orphan"}""");
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Contains(body!["metadata"]!["finalizers"]!.AsArray(), f => f!.GetValue<string>() == "orphan");
        Assert.NotNull(body["metadata"]!["deletionTimestamp"]);
    }

    [Fact]
    public async Task Dry_run_writes_nothing()
    {
        var (code, _, _) = await api.Post($"{Ns}/configmaps?dryRun=All", ConfigMap("dry"));
        Assert.Equal(HttpStatusCode.Created, code);
        Assert.Equal(HttpStatusCode.NotFound, (await api.Get($"{Ns}/configmaps/dry")).Code);
    }

    [Fact]
    public async Task Field_validation_strict_rejects_and_warn_warns()
    {
        var (strict, body, _) = await api.Post($"{Ns}/configmaps?fieldValidation=Strict", ConfigMap("fv", ",\"bogus\":1"));
        Assert.Equal(HttpStatusCode.BadRequest, strict);
        Assert.Contains("unknown field \"bogus\"", body!["message"]!.GetValue<string>());
        var (warn, created, response) = await api.Post($"{Ns}/configmaps?fieldValidation=Warn", ConfigMap("fv", ",\"bogus\":1"));
        Assert.Equal(HttpStatusCode.Created, warn);
        Assert.Contains(response.Headers.GetValues("Warning"), w => w.Contains("bogus"));
        Assert.Null(created!["bogus"]);
    }

    [Fact]
    public async Task Lists_and_gets_answer_tables_when_asked()
    {
        await api.Post("/apis/apps/v1/namespaces/default/deployments", Deployment("tabled"));
        const string accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        var (code, table, _) = await api.Get("/apis/apps/v1/namespaces/default/deployments?limit=500", accept);
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal("Table", table!["kind"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(table["metadata"]!["resourceVersion"]!.GetValue<string>()));
        Assert.Equal(["Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"],
            table["columnDefinitions"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()).ToArray());
        var row = table["rows"]!.AsArray().Single(r => r!["cells"]![0]!.GetValue<string>() == "tabled")!;
        Assert.Equal("PartialObjectMetadata", row["object"]!["kind"]!.GetValue<string>());
        var (_, pods, _) = await api.Get($"{Ns}/pods", accept);
        Assert.Equal(["Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node", "Readiness Gates"],
            pods!["columnDefinitions"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()).ToArray());
    }

    [Fact]
    public async Task A_protobuf_create_is_decoded_and_answered_in_json()
    {
        var deployment = (JsonObject)JsonNode.Parse(ProtobufSpecs.Deployment.Replace("\"web\"", "\"proto\"").Replace("\"app\":\"proto\"", "\"app\":\"web\""))!;
        deployment["metadata"]!["name"] = "proto";
        using var content = new ByteArrayContent(Protobuf.Encode(deployment, ProtobufSpecs.Messages));
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/vnd.kubernetes.protobuf");
        var response = await api.Http.PostAsync("/apis/apps/v1/namespaces/default/deployments?fieldManager=kubectl-create&fieldValidation=Strict", content);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("nginx:1.27", body["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
        Assert.Equal(0, body["spec"]!["replicas"]!.GetValue<int>());
        // an unserved resource: a clear 404 for the resource
        using var job = new ByteArrayContent([0x6b, 0x38, 0x73, 0x00]);
        job.Headers.ContentType = MediaTypeHeaderValue.Parse("application/vnd.kubernetes.protobuf");
        Assert.Equal(HttpStatusCode.NotFound, (await api.Http.PostAsync("/apis/batch/v1/namespaces/default/widgets", job)).StatusCode);
    }

    [Fact]
    public async Task Oversized_and_malformed_bodies_are_rejected_with_status()
    {
        var big = ConfigMap("big").Replace("\"1\"", "\"" + new string('x', 3 * 1024 * 1024 + 10) + "\"");
        var (c413, s413, _) = await api.Post($"{Ns}/configmaps", big);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, c413);
        Assert.Equal("RequestEntityTooLarge", s413!["reason"]!.GetValue<string>());
        foreach (var bad in new[] { "{", "[]", "null", "{\"apiVersion\":\"v2\",\"kind\":\"ConfigMap\"}", "{\"kind\":\"Pod\"}", "{\"metadata\":7}" })
        {
            var (code, status, _) = await api.Post($"{Ns}/configmaps", bad);
            Assert.Equal(HttpStatusCode.BadRequest, code);
            Assert.Equal("Status", status!["kind"]!.GetValue<string>());
        }
        var (yamlCode, _, _) = await api.Post($"{Ns}/configmaps", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fromyaml\n", "application/yaml");
        Assert.Equal(HttpStatusCode.BadRequest, yamlCode);
        Assert.Equal(HttpStatusCode.NotFound, (await api.Get("/api/v1/widgets")).Code);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await api.Send(HttpMethod.Options, $"{Ns}/configmaps")).Code);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await api.Post($"{Ns}/configmaps/x", ConfigMap("x"))).Code);
    }

    [Fact]
    public async Task A_malformed_chunked_body_is_a_400_status_not_an_internal_error_and_stores_nothing()
    {
        // Kestrel reports a broken body (bad chunk, body cut short) as BadHttpRequestException when the handler
        // reads it: the client's fault, so a 400 Status, never a 500 and an error in the server's log.
        using var socket = new System.Net.Sockets.TcpClient();
        await socket.ConnectAsync(api.Node.ApiUri.Host, api.Node.ApiUri.Port);
        using var stream = new System.Net.Security.SslStream(socket.GetStream());
        await stream.AuthenticateAsClientAsync(api.Node.Credentials.SslOptions());
        var request = $"POST {Ns}/configmaps HTTP/1.1\r\nHost: {api.Node.ApiUri.Authority}\r\nContent-Type: application/json\r\n" +
                      "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
                      "5\r\n{\"api\r\nzz-not-a-chunk-size\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var response = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.StartsWith("HTTP/1.1 400", response);
        Assert.Contains("\"kind\":\"Status\"", response);
        Assert.Contains("\"reason\":\"BadRequest\"", response);
        // the apiserver lives on (livez: the process and actor system; /healthz also folds in readiness checks)
        Assert.Equal(HttpStatusCode.OK, (await api.Get("/livez")).Code);
    }

    [Fact]
    public async Task A_watch_streams_a_created_object_and_ends_at_timeout()
    {
        var (_, list, _) = await api.Get($"{Ns}/configmaps");
        var rv = list!["metadata"]!["resourceVersion"]!.GetValue<string>();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{Ns}/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds=5");
        using var response = await api.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var (createdCode, _, _) = await api.Post($"{Ns}/configmaps", ConfigMap("watched"));
        Assert.Equal(HttpStatusCode.Created, createdCode);
        string? line;
        JsonNode? seen = null;
        var lines = new List<string>();
        while ((line = await reader.ReadLineAsync()) is not null)
        {
            lines.Add(line);
            var ev = JsonNode.Parse(line)!;
            Assert.True(ev["type"]!.GetValue<string>() != "ERROR", line);
            if (ev["object"]!["metadata"]!["name"]!.GetValue<string>() == "watched")
            {
                seen = ev;
                break;
            }
        }
        Assert.True(seen is not null, "no event for the created object; rv " + rv + " lines: " + string.Join("\n", lines));
        Assert.Equal("ADDED", seen!["type"]!.GetValue<string>());
        // the stream ends by itself at timeoutSeconds
        while (await reader.ReadLineAsync() is not null) { }
    }

    [Fact]
    public async Task A_watch_from_a_too_old_revision_gets_410_expired()
    {
        // the fixture's store keeps a window of 5 events per partition (see ApiNode)
        for (var i = 0; i < 8; i++) await api.Post("/api/v1/namespaces/kube-system/secrets", "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s" + i + "\"}}");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/namespaces/kube-system/secrets?watch=true&resourceVersion=1&timeoutSeconds=10");
        using var response = await api.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var line = await reader.ReadLineAsync();
        var ev = JsonNode.Parse(line!)!;
        Assert.Equal("ERROR", ev["type"]!.GetValue<string>());
        Assert.Equal(410, ev["object"]!["code"]!.GetValue<int>());
        Assert.Equal("Expired", ev["object"]!["reason"]!.GetValue<string>());
        Assert.Null(await reader.ReadLineAsync()); // and the stream is closed
    }

    /// <summary>Kubernetes' per-kind field labels: a selector on any other field is a 400, on list, watch and deletecollection.</summary>
    [Theory]
    [InlineData("/api/v1/pods?fieldSelector=spec.nodeName%3Dw1,status.phase!%3DFailed", 200, null)]
    [InlineData("/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3Dx", 200, null)]
    [InlineData("/api/v1/events?fieldSelector=involvedObject.kind%3DPod,reason%3DScheduled", 200, null)]
    [InlineData("/api/v1/nodes?fieldSelector=spec.unschedulable%3Dfalse", 200, null)]
    [InlineData("/api/v1/pods?fieldSelector=spec.containers%3Dx", 400, "field label not supported: spec.containers")]
    [InlineData("/api/v1/namespaces/default/configmaps?fieldSelector=data.a%3D1", 400, "field label not supported: data.a")]
    [InlineData("/api/v1/namespaces/default/configmaps?watch=true&fieldSelector=data.a%3D1", 400, "field label not supported: data.a")]
    [InlineData("/apis/apps/v1/deployments?fieldSelector=spec.replicas%3D1", 400, "field label not supported: spec.replicas")]
    public async Task A_field_selector_may_name_only_the_kinds_field_labels(string path, int expected, string? message)
    {
        var (code, body, _) = await api.Get(path);
        Assert.Equal(expected, (int)code);
        if (message is null) return;
        Assert.Equal("BadRequest", body!["reason"]!.GetValue<string>());
        Assert.Equal(message, body["message"]!.GetValue<string>());
    }

    /// <summary>Events' <c>source</c> label selects by source.component, as Kubernetes; reportingComponent is the field's own JSON name.</summary>
    [Fact]
    public async Task Event_field_labels_that_name_another_path_select_by_that_path()
    {
        JsonObject Event(string name, string component, string controller) => new()
        {
            ["apiVersion"] = "v1", ["kind"] = "Event",
            ["metadata"] = new JsonObject { ["name"] = name },
            ["involvedObject"] = new JsonObject { ["kind"] = "Pod", ["name"] = "p", ["namespace"] = "default" },
            ["reason"] = "Tested", ["message"] = "m", ["type"] = "Normal",
            ["source"] = new JsonObject { ["component"] = component },
            ["reportingComponent"] = controller,
        };
        Assert.Equal(HttpStatusCode.Created, (await api.Post($"{Ns}/events", Event("from-kubelet", "kubelet", "kubelet-x").ToJsonString())).Code);
        Assert.Equal(HttpStatusCode.Created, (await api.Post($"{Ns}/events", Event("from-scheduler", "default-scheduler", "scheduler-x").ToJsonString())).Code);
        static IEnumerable<string> Names(JsonNode? list) => list!["items"]!.AsArray().Select(i => i!["metadata"]!["name"]!.GetValue<string>());

        var (code, bySource, _) = await api.Get($"{Ns}/events?fieldSelector=source%3Dkubelet,reason%3DTested");
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal(["from-kubelet"], Names(bySource));
        var (_, byController, _) = await api.Get($"{Ns}/events?fieldSelector=reportingComponent%3Dscheduler-x,reason%3DTested");
        Assert.Equal(["from-scheduler"], Names(byController));
        var (_, notSource, _) = await api.Get($"{Ns}/events?fieldSelector=source!%3Dkubelet,reason%3DTested");
        Assert.DoesNotContain("from-kubelet", Names(notSource));
        Assert.Contains("from-scheduler", Names(notSource));
    }

    [Fact]
    public async Task Deletecollection_with_an_unsupported_field_label_deletes_nothing()
    {
        await api.Post($"{Ns}/configmaps", ConfigMap("kept-by-bad-selector"));
        var (deleted, _, _) = await api.Send(HttpMethod.Delete, $"{Ns}/configmaps?fieldSelector=data.a%3D1");
        Assert.Equal(HttpStatusCode.BadRequest, deleted);
        var (code, _, _) = await api.Get($"{Ns}/configmaps/kept-by-bad-selector");
        Assert.Equal(HttpStatusCode.OK, code);
    }
}
