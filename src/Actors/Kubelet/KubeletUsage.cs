using System.Text.Json.Nodes;
using Akka.Actor;

namespace AkkaKube.Actors.Kubelet;

/// <summary>
/// Asks kubelets for their latest resource usage sample over Akka remoting (address and path from the Node's
/// akkakube.io annotations): the source of the metrics API (`kubectl top`) and of the horizontal pod autoscaler.
/// </summary>
public static class KubeletUsage
{
    /// <summary>How long one kubelet may take to answer; a kubelet that does not answer leaves its node out.</summary>
    public static readonly TimeSpan KubeletTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Asks the kubelet of each node (in parallel) for its latest sample; nodes whose kubelet is unknown or silent are absent.</summary>
    public static async Task<Dictionary<string, KubeletProtocol.NodeMetrics>> AskAsync(ActorSystem system, IEnumerable<JsonObject> nodes, CancellationToken ct)
    {
        var asks = nodes.Select(async node =>
        {
            var name = Str(node["metadata"]?["name"]);
            var address = Str(node["metadata"]?["annotations"]?[NodeObjects.AkkaAddressAnnotation]);
            if (address.Length == 0) return null;
            var path = Str(node["metadata"]?["annotations"]?[NodeObjects.KubeletPathAnnotation]) is { Length: > 0 } p ? p : "/user/" + AkkaKubeNames.Actors.Kubelet;
            try
            {
                var m = await system.ActorSelection(address + path).Ask<KubeletProtocol.NodeMetrics>(new KubeletProtocol.GetMetrics(), KubeletTimeout, ct).ConfigureAwait(false);
                return m.NodeName == name ? m : null;
            }
            catch (AskTimeoutException)
            {
                return null;
            }
        });
        var results = await Task.WhenAll(asks).ConfigureAwait(false);
        return results.OfType<KubeletProtocol.NodeMetrics>().GroupBy(m => m.NodeName).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
    }

    private static string Str(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : "";
}
