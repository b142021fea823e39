using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace AkkaKube.Bench;

/// <summary>One served resource (or subresource) as the cluster's discovery lists it.</summary>
public sealed record FuzzTarget(string GroupVersion, string Resource, string? Subresource, string Kind, bool Namespaced, IReadOnlyList<string> Verbs)
{
    public string Prefix => GroupVersion.Contains('/') ? $"/apis/{GroupVersion}" : $"/api/{GroupVersion}";
}

/// <summary>What a fuzzing run saw: requests by status code, and every finding (a 5xx, a write behind a refusal).</summary>
public sealed record FuzzResult(long Requests, IReadOnlyDictionary<int, long> ByStatus, IReadOnlyList<string> ServerErrors,
    IReadOnlyList<string> WrittenOnRefusal, int Targets, TimeSpan Elapsed)
{
    public long ServerErrorCount => ByStatus.Where(kv => kv.Key >= 500).Sum(kv => kv.Value);
    public string StatusSummary => string.Join(" ", ByStatus.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}:{kv.Value}"));
}

/// <summary>
/// A seeded fuzzer of the Kubernetes API of a running cluster. It asks discovery for every served resource and
/// verb, then sends generated requests: bodies (JSON, YAML, protobuf; truncated, deeply nested, huge numbers, wrong
/// types, oversized), patches of all four types, selectors and query parameters. Every run with the same seed sends
/// the same requests (in the same order per worker). It works only in its own namespace and on objects it created
/// (names fuzz-…), and never deletes collections of cluster-scoped resources, so the cluster it runs against keeps working.
/// Findings: any 5xx, and an object present after its create was refused.
/// </summary>
public sealed partial class ApiFuzzer(HttpClient http, int seed, string ns = "fuzz")
{
    private const int MaxFindings = 50;
    private readonly ConcurrentDictionary<int, long> _byStatus = new();
    // One example per distinct finding (method, path shape, status, message shape) with its count: a frequent finding
    // must not hide the rare ones behind MaxFindings.
    private readonly ConcurrentDictionary<string, (string Example, long Count)> _serverErrors = new();
    private readonly ConcurrentQueue<string> _written = new();
    // objects this fuzzer created, per resource path: the only ones it updates, patches or deletes
    private readonly ConcurrentDictionary<string, ConcurrentBag<string>> _created = new();
    private long _requests;

    // Connect-style subresources hijack the connection (exec, attach, port-forward, proxy): out of scope here.
    private static readonly HashSet<string> ConnectSubresources = ["exec", "attach", "portforward", "proxy"];

    public async Task<IReadOnlyList<FuzzTarget>> DiscoverAsync(CancellationToken ct)
    {
        var targets = new List<FuzzTarget>();
        var versions = new List<string> { "v1" };
        var groups = JsonNode.Parse(await http.GetStringAsync("/apis", ct))!["groups"]!.AsArray();
        foreach (var g in groups)
            foreach (var v in g!["versions"]!.AsArray())
                versions.Add(v!["groupVersion"]!.GetValue<string>());
        foreach (var gv in versions)
        {
            var list = JsonNode.Parse(await http.GetStringAsync(gv == "v1" ? "/api/v1" : $"/apis/{gv}", ct))!["resources"]!.AsArray();
            foreach (var r in list)
            {
                var name = r!["name"]!.GetValue<string>();
                var parts = name.Split('/');
                if (parts.Length > 1 && ConnectSubresources.Contains(parts[1])) continue;
                var verbs = r["verbs"]?.AsArray().Select(x => x!.GetValue<string>()).ToList() ?? [];
                if (verbs.Count == 0) continue;
                targets.Add(new FuzzTarget(gv, parts[0], parts.Length > 1 ? parts[1] : null, r["kind"]!.GetValue<string>(), r["namespaced"]!.GetValue<bool>(), verbs));
            }
        }
        return targets;
    }

    public async Task<FuzzResult> RunAsync(int requests, int concurrency, CancellationToken ct)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var targets = await DiscoverAsync(ct);
        using (var create = new HttpRequestMessage(HttpMethod.Post, "/api/v1/namespaces")
               { Content = new StringContent($$$"""{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"{{{ns}}}"}}""", Encoding.UTF8, "application/json") })
            (await http.SendAsync(create, ct)).Dispose();
        var next = -1L;
        var workers = Enumerable.Range(0, concurrency).Select(w => Task.Run(async () =>
        {
            var random = new Random(HashCode.Combine(seed, w));
            while (Interlocked.Increment(ref next) < requests && !ct.IsCancellationRequested)
                await OneAsync(random, targets, Interlocked.Read(ref next), ct);
        }, ct)).ToList();
        await Task.WhenAll(workers);
        return new FuzzResult(Interlocked.Read(ref _requests), new SortedDictionary<int, long>(_byStatus), _serverErrors.OrderByDescending(f => f.Value.Count).Select(f => $"{f.Value.Count}× {f.Value.Example}").ToList(), _written.ToList(), targets.Count, clock.Elapsed);
    }

    private async Task OneAsync(Random random, IReadOnlyList<FuzzTarget> targets, long n, CancellationToken ct)
    {
        var t = targets[random.Next(targets.Count)];
        var verb = t.Verbs[random.Next(t.Verbs.Count)];
        var namespaced = t.Namespaced;
        // A cluster-scoped deletecollection would delete the cluster's nodes: a list instead.
        if (verb == "deletecollection" && !namespaced) verb = "list";
        var nsPart = namespaced ? $"/namespaces/{Pick(random, ns, ns, ns, ns, ns, ns, ns, ns, ns, ns, ns, ns, "fuzz-missing", "UPPER", "a..b", "%2e%2e")}" : "";
        var collection = $"{t.Prefix}{nsPart}/{t.Resource}";
        var pool = _created.GetOrAdd(collection, _ => []);
        var existing = pool.IsEmpty ? null : pool.ElementAt(random.Next(pool.Count));
        var name = existing is not null && random.Next(4) > 0 ? existing : $"fuzz-{seed}-{n}";
        var item = $"{collection}/{Uri.EscapeDataString(name)}" + (t.Subresource is null ? "" : "/" + t.Subresource);
        var query = Query(random, verb);
        HttpRequestMessage request;
        switch (verb)
        {
            case "get":
                request = new(HttpMethod.Get, item + query);
                break;
            case "list":
                request = new(HttpMethod.Get, collection + query);
                break;
            case "watch":
                request = new(HttpMethod.Get, (random.Next(3) == 0 ? item : collection) + AddParam(query, "watch=true&timeoutSeconds=1"));
                break;
            case "create":
                request = new(HttpMethod.Post, (t.Subresource is null ? collection : item) + query) { Content = Body(random, t, name) };
                break;
            case "update":
                request = new(HttpMethod.Put, item + query) { Content = Body(random, t, name) };
                break;
            case "patch":
                request = new(HttpMethod.Patch, item + query) { Content = Patch(random, t) };
                break;
            case "delete":
                request = new(HttpMethod.Delete, item + query);
                if (random.Next(3) == 0) request.Content = new StringContent(Pick(random, """{"propagationPolicy":"Foreground"}""", """{"gracePeriodSeconds":"x"}""", """{"preconditions":{"uid":5}}""", "{", "[]"), Encoding.UTF8, "application/json");
                break;
            case "deletecollection":
                request = new(HttpMethod.Delete, $"{t.Prefix}/namespaces/{ns}/{t.Resource}" + query);
                break;
            default:
                request = new(HttpMethod.Get, item + query);
                break;
        }
        using (request)
        {
            int code;
            string body;
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(60));
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
                code = (int)response.StatusCode;
                // A watch that started streams until its timeout: the status line is the answer.
                body = verb == "watch" && code == 200 ? "" : await response.Content.ReadAsStringAsync(timeout.Token);
            }
            catch (HttpRequestException e)
            {
                code = 599; // the connection broke: a server fault as much as a 5xx
                body = e.Message;
            }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
                code = 598; // no answer within 60 s
                body = "timeout";
            }
            Interlocked.Increment(ref _requests);
            _byStatus.AddOrUpdate(code, 1, (_, c) => c + 1);
            if (code >= 500)
            {
                var example = $"{request.Method} {request.RequestUri} [{request.Content?.Headers.ContentType}] -> {code} {Trim(body)}";
                var shape = $"{request.Method} {Shape(request.RequestUri!.OriginalString.Split('?')[0])} -> {code} {Shape(Trim(body))}";
                if (_serverErrors.Count < MaxFindings || _serverErrors.ContainsKey(shape))
                    _serverErrors.AddOrUpdate(shape, (example, 1), (_, f) => (f.Example, f.Count + 1));
            }
            if (verb == "create" && t.Subresource is null && code is 200 or 201 or 202 && nsPart.EndsWith("/" + ns, StringComparison.Ordinal))
                pool.Add(name);
            if (verb == "create" && t.Subresource is null && code is 400 or 413 or 415 or 422 && name != existing && t.Verbs.Contains("get"))
                await CheckNotWritten($"{collection}/{Uri.EscapeDataString(name)}", request, code, ct);
        }
    }

    private async Task CheckNotWritten(string path, HttpRequestMessage refused, int code, CancellationToken ct)
    {
        using var get = await http.GetAsync(path, ct);
        if (get.StatusCode != HttpStatusCode.NotFound && (int)get.StatusCode < 500 && get.StatusCode != HttpStatusCode.BadRequest && _written.Count < MaxFindings)
            _written.Enqueue($"{refused.Method} {refused.RequestUri} was refused with {code} but GET {path} answers {(int)get.StatusCode}");
    }

    /// <summary>A path or message with the fuzzer's names and numbers blanked, so findings of one cause group together.</summary>
    private static string Shape(string s) => Numbers().Replace(FuzzNames().Replace(s, "NAME"), "N");

    [System.Text.RegularExpressions.GeneratedRegex(@"fuzz-\d+-\d+")]
    private static partial System.Text.RegularExpressions.Regex FuzzNames();

    [System.Text.RegularExpressions.GeneratedRegex(@"\d+")]
    private static partial System.Text.RegularExpressions.Regex Numbers();

    private static string Trim(string s) => s.Length > 300 ? s[..300] + "…" : s;

    private static T Pick<T>(Random random, params T[] options) => options[random.Next(options.Length)];

    private static string AddParam(string query, string param) => query.Length == 0 ? "?" + param : query + "&" + param;

    // ---------------- query parameters ----------------

    private static readonly string[] LabelSelectors =
        ["a=b", "a in (b,c)", "!a", "a", "a notin (x)", "a!=b", "a in (b", "!!a", "a=b=c", "a==b", "===", "a,,b", "a in ()", "(", "a=" + new string('x', 70), "k8s.io/x=y", "a b", "a=%", "😀=1", ""];
    private static readonly string[] FieldSelectors =
        ["metadata.name=x", "metadata.namespace!=y", "spec.nodeName===x", "spec.nodeName==x", "status.phase=Running", "foo", "=x", "metadata.name=a,b", "metadata.name=a\\,b", "a.b.c.d=e", "x=\\q", "metadata..name=x", ""];
    private static readonly string[] Params =
        ["limit", "continue", "resourceVersion", "resourceVersionMatch", "timeoutSeconds", "dryRun", "fieldManager", "fieldValidation", "propagationPolicy", "gracePeriodSeconds", "pretty", "allowWatchBookmarks", "sendInitialEvents", "force", "orphanDependents", "labelSelector", "fieldSelector"];
    private static readonly string[] Values =
        ["", "0", "1", "-1", "abc", "99999999999999999999999", "1e400", "true", "false", "All", "Strict", "Warn", "Ignore", "NotOlderThan", "Exact", "Foreground", "Orphan", "Background", "kubectl", "\u0000", "%zz", "%E0%A4%A", new string('m', 300), "9223372036854775807"];

    private static string Query(Random random, string verb)
    {
        var parts = new List<string>();
        var count = random.Next(4);
        if (verb is "list" or "watch" or "deletecollection")
        {
            if (random.Next(3) == 0) parts.Add("labelSelector=" + Uri.EscapeDataString(Pick(random, LabelSelectors)));
            if (random.Next(3) == 0) parts.Add("fieldSelector=" + Uri.EscapeDataString(Pick(random, FieldSelectors)));
        }
        for (var i = 0; i < count; i++)
        {
            var value = Pick(random, Values);
            // Some values are sent raw (broken percent-encodings), most escaped.
            parts.Add($"{Pick(random, Params)}={(random.Next(5) == 0 ? value.Replace("\u0000", "%00") : Uri.EscapeDataString(value))}");
        }
        return parts.Count == 0 ? "" : "?" + string.Join("&", parts);
    }

    // ---------------- bodies ----------------

    private static JsonObject Valid(FuzzTarget t, string name)
    {
        var obj = new JsonObject { ["apiVersion"] = t.GroupVersion, ["kind"] = t.Subresource is null ? t.Kind : t.Kind, ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["fuzz"] = "yes" } } };
        switch (t.Kind)
        {
            case "ConfigMap": obj["data"] = new JsonObject { ["k"] = "v" }; break;
            case "Secret": obj["stringData"] = new JsonObject { ["k"] = "v" }; break;
            case "Pod": obj["spec"] = PodSpec(); break;
            case "Service": obj["spec"] = new JsonObject { ["ports"] = new JsonArray(new JsonObject { ["port"] = 80 }), ["selector"] = new JsonObject { ["app"] = "x" } }; break;
            case "Deployment" or "ReplicaSet" or "StatefulSet" or "DaemonSet":
                obj["spec"] = new JsonObject
                {
                    ["replicas"] = 0,
                    ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = name } },
                    ["template"] = new JsonObject { ["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["app"] = name } }, ["spec"] = PodSpec() },
                };
                if (t.Kind == "DaemonSet") obj["spec"]!.AsObject().Remove("replicas");
                break;
            case "Job": obj["spec"] = new JsonObject { ["suspend"] = true, ["template"] = new JsonObject { ["spec"] = PodSpec("Never") } }; break;
            case "Scale": obj["spec"] = new JsonObject { ["replicas"] = 1 }; break;
        }
        return obj;
    }

    private static JsonObject PodSpec(string restart = "Always") => new()
    {
        ["restartPolicy"] = restart,
        ["containers"] = new JsonArray(new JsonObject { ["name"] = "c", ["image"] = "busybox", ["command"] = new JsonArray("sleep", "1"), ["resources"] = new JsonObject { ["requests"] = new JsonObject { ["cpu"] = "1m" } } }),
    };

    private static readonly JsonNode?[] Junk =
    [
        null, 0, -1, 1.5, long.MaxValue, "", "x", "10E", "-64", "1e400", true, new JsonArray(), new JsonObject(), new JsonArray(1, "a", null),
        new JsonObject { ["$patch"] = 1 }, new JsonObject { ["x[abc]"] = "1" }, new string('<', 4096), "\u0000\uFFFF", "../../etc/passwd",
    ];

    private static readonly string[] Paths =
    [
        "metadata", "metadata.name", "metadata.namespace", "metadata.labels", "metadata.labels.a", "metadata.annotations", "metadata.resourceVersion",
        "metadata.uid", "metadata.finalizers", "metadata.ownerReferences", "metadata.generateName", "metadata.deletionTimestamp", "metadata.managedFields",
        "apiVersion", "kind", "spec", "status", "data", "data.x[abc]", "spec.replicas", "spec.containers", "spec.selector", "spec.template",
        "spec.containers.0.resources.requests.cpu", "spec.containers.0.resources.limits.memory", "spec.containers.0.name", "spec.ports",
        "spec.template.spec.containers", "spec.clusterIP", "spec.type", "spec.nodeName", "immutable", "type", "stringData",
    ];

    private static void Mutate(Random random, JsonObject obj)
    {
        var path = Pick(random, Paths).Split('.');
        JsonNode? cur = obj;
        for (var i = 0; i < path.Length - 1; i++)
        {
            var seg = path[i];
            JsonNode? child = cur switch
            {
                JsonObject o => o[seg],
                JsonArray a when int.TryParse(seg, out var idx) && idx < a.Count => a[idx],
                _ => null,
            };
            if (child is null)
            {
                if (cur is not JsonObject o2) return;
                child = new JsonObject();
                o2[seg] = child;
            }
            cur = child;
        }
        var value = Pick(random, Junk)?.DeepClone();
        if (cur is JsonObject target) target[path[^1]] = value;
    }

    private static string Deep(Random random, char open, int depth) => random.Next(2) == 0
        ? new string(open, depth)
        : new string(open, depth) + new string(open == '[' ? ']' : '}', depth);

    private static HttpContent Body(Random random, FuzzTarget t, string name)
    {
        var obj = Valid(t, name);
        var mutations = random.Next(4);
        for (var i = 0; i < mutations; i++) Mutate(random, obj);
        var json = obj.ToJsonString();
        switch (random.Next(16))
        {
            case 0: return Text(json[..random.Next(json.Length)], "application/json");                 // truncated
            case 1: return Text(Deep(random, '[', random.Next(50, 20_000)), "application/json");        // deep
            case 2: return Text("a: " + Deep(random, '[', random.Next(50, 20_000)), "application/yaml"); // deep YAML
            case 3: return Text(json.Replace("\"fuzz\":\"yes\"", "\"fuzz\":1e999999").Replace("\"replicas\":0", "\"replicas\":99999999999999999999999"), "application/json"); // huge numbers
            case 4: return Text(Pick(random, "a: &x [*x]", "a: !!binary AAAA", "---\na: 1\n---\nb: 2", "\t- x", "? [a]\n: b", "a: b\na: c", "{{{", "[1,2]", "null", "42", "\"s\""), "application/yaml");
            case 5:                                                                                         // protobuf
            {
                var bytes = new byte[random.Next(0, 64)];
                random.NextBytes(bytes);
                var framed = random.Next(2) == 0 ? [.. "k8s\0"u8.ToArray(), .. bytes] : bytes;
                var content = new ByteArrayContent(framed);
                content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/vnd.kubernetes.protobuf");
                return content;
            }
            case 6: return Text(json, Pick(random, "text/plain", "application/xml", "application/json; charset=latin1", "", "application/merge-patch+json"));
            case 7:                                                                                         // invalid UTF-8
            {
                var content = new ByteArrayContent([.. Encoding.UTF8.GetBytes(json[..(json.Length / 2)]), 0xC3, 0x28, 0xFF]);
                content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
                return content;
            }
            case 8 when random.Next(50) == 0: return Text(new string(' ', 3 * 1024 * 1024 + 10), "application/json"); // above the body limit
            case 9: return Text(YamlOf(obj), "application/yaml");
            default: return Text(json, "application/json");
        }
    }

    /// <summary>The object as block YAML (flow collections are JSON, valid YAML too): exercises the YAML path with real bodies.</summary>
    private static string YamlOf(JsonObject obj) =>
        string.Join("\n", obj.Select(kv => $"{kv.Key}: {kv.Value?.ToJsonString() ?? "null"}"));

    private static StringContent Text(string body, string mediaType)
    {
        var content = new StringContent(body, Encoding.UTF8);
        if (mediaType.Length == 0) content.Headers.ContentType = null;
        else content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(mediaType);
        return content;
    }

    private static HttpContent Patch(Random random, FuzzTarget t)
    {
        switch (random.Next(4))
        {
            case 0:
            {
                var patch = new JsonObject();
                Mutate(random, patch);
                return Text(Pick(random, patch.ToJsonString(), "null", "[]", "{", "{\"metadata\":null}", Deep(random, '{', 500)), "application/merge-patch+json");
            }
            case 1:
            {
                var ops = new JsonArray();
                for (var i = random.Next(4); i >= 0; i--)
                    ops.Add(new JsonObject
                    {
                        ["op"] = Pick<JsonNode?>(random, "add", "remove", "replace", "move", "copy", "test", "bogus", 1, null),
                        ["path"] = Pick<JsonNode?>(random, "/metadata/labels/a", "/spec/replicas", "/data/k", "", "/", "x", "/metadata/labels/~2", "/spec/containers/-", "/spec/containers/99", 5),
                        ["from"] = Pick<JsonNode?>(random, "/metadata/labels", "/nope", null),
                        ["value"] = Pick(random, Junk)?.DeepClone(),
                    });
                return Text(Pick(random, ops.ToJsonString(), "{}", "[1]", "[", "[{\"op\":\"add\"}]"), "application/json-patch+json");
            }
            case 2:
                return Text(Pick(random, """{"$patch":1}""", """{"$retainKeys":[1]}""", """{"$patch":"delete"}""", """{"$patch":"replace","metadata":{"name":"x"}}""",
                    """{"spec":{"containers":[{"$patch":"replace"}]}}""", """{"spec":{"containers":[{"name":"c","$patch":5}]}}""", """{"$setElementOrder/containers":5}""",
                    """{"metadata":{"$deleteFromPrimitiveList/finalizers":"x"}}""", """{"metadata":{"labels":{"a":"b"}}}""", """{"spec":{"replicas":-5}}""", "[]", "1"), "application/strategic-merge-patch+json");
            default:
            {
                var obj = Valid(t, "fuzz-apply");
                Mutate(random, obj);
                return Text(random.Next(2) == 0 ? YamlOf(obj) : obj.ToJsonString(), Pick(random, "application/apply-patch+yaml", "application/apply-patch+json"));
            }
        }
    }
}
