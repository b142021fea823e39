using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Akka.Actor;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Kubelet;
using Microsoft.AspNetCore.Http;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.ApiServer;

/// <summary>
/// GET /api/v1/namespaces/{ns}/pods/{name}/log (owned by the kubelet component): finds the pod's node, reads the
/// node's akkakube.io/akka-address (+ akkakube.io/kubelet-path) annotation, asks that kubelet over Akka remoting
/// with <see cref="KubeletProtocol.GetLogs"/> and streams the chunks as text/plain (chunked, flushed per chunk, so
/// <c>kubectl logs -f</c> follows). Query: container, follow, tailLines, timestamps, previous, sinceSeconds,
/// sinceTime, limitBytes.
/// </summary>
public static class PodLogEndpoint
{
    private static readonly TimeSpan FirstAnswerTimeout = TimeSpan.FromSeconds(15);

    public static async Task ServeAsync(HttpContext ctx, ActorSystem system, string ns, string name, IReadOnlyDictionary<string, string> query)
    {
        var request = ParseQuery(ns, name, query, out var limitBytes);
        var (pod, nodeName, kubelet) = await KubeletOfPodAsync(system, ns, name, ctx.RequestAborted);
        if (kubelet is null)
        {
            // No kubelet ever registered this Node (an object created through the API). A container that never
            // ran has no log anywhere: answer as its kubelet would. Only one that ran needs the unreachable kubelet.
            if (NeverRan(pod, request) is { } waiting) throw ApiException.BadRequest(waiting);
            throw NoKubelet(nodeName);
        }

        var channel = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var relay = system.ActorOf(Props.Create(() => new LogRelay(channel.Writer, kubelet, request)));
        try
        {
            using var first = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted);
            first.CancelAfter(FirstAnswerTimeout);
            object message;
            try { message = await channel.Reader.ReadAsync(first.Token); }
            catch (OperationCanceledException) when (!ctx.RequestAborted.IsCancellationRequested)
            {
                throw new ApiException(504, "Timeout", $"the kubelet of node {nodeName} did not answer within {FirstAnswerTimeout.TotalSeconds:0}s");
            }
            catch (ChannelClosedException)
            {
                throw new ApiException(503, "ServiceUnavailable", $"the kubelet of node {nodeName} ended the log stream");
            }
            if (message is KubeletProtocol.LogEnd { Code: not 200 } failed)
                throw new ApiException(failed.Code, failed.Reason, failed.Message);

            ctx.Response.StatusCode = 200;
            ctx.Response.ContentType = "text/plain";
            await ctx.Response.StartAsync(ctx.RequestAborted);
            long written = 0;
            while (true)
            {
                if (message is KubeletProtocol.LogChunk chunk)
                {
                    var bytes = Encoding.UTF8.GetBytes(chunk.Text);
                    var count = limitBytes is { } limit ? (int)Math.Min(bytes.Length, Math.Max(0, limit - written)) : bytes.Length;
                    if (count > 0)
                    {
                        await ctx.Response.Body.WriteAsync(bytes.AsMemory(0, count), ctx.RequestAborted);
                        await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
                        written += count;
                    }
                    if (limitBytes is { } l && written >= l) break;
                }
                else break; // LogEnd
                if (!await channel.Reader.WaitToReadAsync(ctx.RequestAborted)) break;
                message = await channel.Reader.ReadAsync(ctx.RequestAborted);
            }
        }
        finally
        {
            system.Stop(relay);
        }
    }

    /// <summary>
    /// The pod (404 when missing), its node (400 when unscheduled) and the node's kubelet over remoting, from the Node's
    /// akkakube.io/akka-address (+ akkakube.io/kubelet-path) annotation; null when no kubelet ever registered the Node.
    /// </summary>
    internal static async Task<(JsonObject Pod, string NodeName, ActorSelection? Kubelet)> KubeletOfPodAsync(ActorSystem system, string ns, string name, CancellationToken ct)
    {
        var api = KubeApi.Get(system).Api;
        JsonObjectHolder pod;
        try { pod = new(await api.GetAsync(ApiResource.Pods, ns, name, ct: ct)); }
        catch (KubeApiException e) when (e.IsNotFound) { throw ApiException.ResourceNotFound(ApiResource.Pods, name); }
        var nodeName = pod.Str("spec", "nodeName");
        if (nodeName.Length == 0)
            throw ApiException.BadRequest($"pod {name} does not have a host assigned");
        JsonObjectHolder node;
        try { node = new(await api.GetAsync(ApiResource.Nodes, null, nodeName, ct: ct)); }
        catch (KubeApiException e) when (e.IsNotFound) { throw ApiException.ResourceNotFound(ApiResource.Nodes, nodeName); } // as Kubernetes: nodes "X" not found
        var address = node.Str("metadata", "annotations", NodeObjects.AkkaAddressAnnotation);
        if (address.Length == 0) return (pod.Object, nodeName, null);
        var path = node.Str("metadata", "annotations", NodeObjects.KubeletPathAnnotation) is { Length: > 0 } p ? p : "/user/" + AkkaKubeNames.Actors.Kubelet;
        return (pod.Object, nodeName, system.ActorSelection(address + path));
    }

    internal static ApiException NoKubelet(string nodeName) =>
        new(503, "ServiceUnavailable", $"node {nodeName} has no {NodeObjects.AkkaAddressAnnotation} annotation; its kubelet cannot be reached");

    private static KubeletProtocol.GetLogs ParseQuery(string ns, string name, IReadOnlyDictionary<string, string> q, out long? limitBytes)
    {
        bool Bool(string key)
        {
            if (!q.TryGetValue(key, out var v) || v.Length == 0) return false;
            return v switch
            {
                "true" or "1" or "True" => true,
                "false" or "0" or "False" => false,
                _ => throw ApiException.BadRequest($"{key}: invalid boolean \"{v}\""),
            };
        }
        long? Long(string key, long min)
        {
            if (!q.TryGetValue(key, out var v) || v.Length == 0) return null;
            if (!long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n))
                throw ApiException.BadRequest($"{key}: invalid integer \"{v}\"");
            if (n < min) throw ApiException.BadRequest($"{key}: must be greater than or equal to {min}");
            return n;
        }
        var since = Long("sinceSeconds", 1);
        if (q.TryGetValue("sinceTime", out var st) && st.Length > 0)
        {
            if (since is not null) throw ApiException.BadRequest("at most one of sinceTime or sinceSeconds may be specified");
            if (!DateTimeOffset.TryParse(st, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t))
                throw ApiException.BadRequest($"sinceTime: invalid RFC 3339 time \"{st}\"");
            since = Math.Max(1, (long)Math.Ceiling((DateTimeOffset.UtcNow - t).TotalSeconds));
        }
        limitBytes = Long("limitBytes", 1);
        var previous = Bool("previous");
        var follow = Bool("follow");
        return new KubeletProtocol.GetLogs(ns, name, q.TryGetValue("container", out var c) && c.Length > 0 ? c : null,
            follow, Long("tailLines", 0), Bool("timestamps"), previous, since);
    }

    /// <summary>The kubelet's answer for a container the pod's status shows never started, or null.</summary>
    private static string? NeverRan(JsonObject pod, KubeletProtocol.GetLogs request)
    {
        var spec = pod["spec"] as JsonObject;
        var status = pod["status"] as JsonObject;
        static string Name(JsonNode? n) => (n as JsonObject)?["name"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : "";
        static IEnumerable<JsonNode?> Items(JsonObject? o, string key) => o?[key] as JsonArray ?? [];
        var main = Items(spec, "containers").Select(Name).Where(n => n.Length > 0).ToList();
        var known = Items(spec, "initContainers").Concat(Items(spec, "ephemeralContainers")).Select(Name).Concat(main).ToHashSet();
        var name = request.Container ?? (main.Count == 1 ? main[0] : null);
        if (name is null || !known.Contains(name)) return null; // the kubelet's own messages cover these
        var own = new[] { "initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses" }
            .SelectMany(list => Items(status, list)).OfType<JsonObject>().FirstOrDefault(c => Name(c) == name);
        var state = own?["state"] as JsonObject;
        var ranBefore = (own?["lastState"] as JsonObject)?["terminated"] is not null;
        if (request.Previous)
            return ranBefore ? null : $"previous terminated container \"{name}\" in pod \"{request.PodName}\" not found";
        if (ranBefore || state?["running"] is not null || state?["terminated"] is not null) return null;
        var reason = (state?["waiting"] as JsonObject)?["reason"] is JsonValue r && r.TryGetValue<string>(out var why) && why.Length > 0 ? why : "ContainerCreating";
        return $"container \"{name}\" in pod \"{request.PodName}\" is waiting to start: {reason}";
    }

    private sealed class JsonObjectHolder(JsonObject obj)
    {
        public JsonObject Object => obj;

        public string Str(params string[] path)
        {
            JsonNode? n = obj;
            foreach (var p in path) n = (n as JsonObject)?[p];
            return n is JsonValue v && v.TryGetValue<string>(out var s) ? s : "";
        }
    }

    /// <summary>Receives the kubelet's chunks for one HTTP request; stopping it ends the kubelet's streamer.</summary>
    private sealed class LogRelay : ReceiveActor
    {
        private readonly ChannelWriter<object> _writer;
        private readonly ActorSelection _kubelet;
        private readonly KubeletProtocol.GetLogs _request;

        public LogRelay(ChannelWriter<object> writer, ActorSelection kubelet, KubeletProtocol.GetLogs request)
        {
            _writer = writer;
            _kubelet = kubelet;
            _request = request;
            Receive<KubeletProtocol.LogChunk>(c => _writer.TryWrite(c));
            Receive<KubeletProtocol.LogEnd>(e =>
            {
                _writer.TryWrite(e);
                _writer.TryComplete();
                Context.Stop(Self);
            });
        }

        protected override void PreStart() => _kubelet.Tell(_request, Self);

        protected override void PostStop() => _writer.TryComplete();
    }
}
