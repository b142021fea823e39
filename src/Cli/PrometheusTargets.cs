using System.Text.Json;
using System.Text.Json.Nodes;

namespace AkkaKube.Cli;

/// <summary>
/// DATA/prometheus-targets.json: every node's metrics address in Prometheus' file_sd format, labelled with the
/// cluster, node, roles and zone. examples/monitoring/prometheus.yml reads it, so Prometheus follows `up`, `down` and
/// `chaos restart` (which rewrites cluster.json, and this file with it) without editing its config.
/// </summary>
public static class PrometheusTargets
{
    public const string FileName = "prometheus-targets.json";

    public static string PathIn(string dataDir) => Path.Combine(dataDir, FileName);

    public static JsonArray Build(ClusterState state, string cluster)
    {
        var groups = new JsonArray();
        foreach (var n in state.Nodes.Where(n => n.MetricsPort > 0))
            groups.Add(new JsonObject
            {
                ["targets"] = new JsonArray($"{n.Ip}:{n.MetricsPort}"),
                ["labels"] = new JsonObject
                {
                    ["cluster"] = cluster,
                    ["node"] = n.Name,
                    ["roles"] = n.Roles,
                    ["zone"] = n.Zone,
                },
            });
        return groups;
    }

    public static void Write(ClusterState state, string cluster)
    {
        var path = PathIn(state.DataDirectory);
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, Build(state, cluster).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        File.Move(tmp, path, overwrite: true); // Prometheus re-reads the file on change: never show it half-written
    }
}
