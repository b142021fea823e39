using System.Text;
using System.Text.Json;
using k8s.Models;

namespace AkkaKube.Actors.Cloud;

/// <summary>One node process the local launcher (`akkakube up`) started, as DATA/cluster.json records it.</summary>
public sealed record LocalInstance(string Name, string Zone, string Ip, int Pid);

/// <summary>
/// The local cloud's instances: the node processes listed in DATA/cluster.json (written by `akkakube up` and
/// `akkakube chaos restart`). An instance exists while its PID is a live `akkakube-node --node-name NAME`
/// process; a Node that the file does not list is not this cloud's (in-process test nodes): it is neither
/// initialised nor ever reported gone.
/// </summary>
public sealed class LocalInstances(string dataDirectory, string region, Func<int, string, bool>? isAlive = null) : IInstances
{
    public const string ProviderPrefix = "akkakube://";
    public const string InstanceType = "local-process";

    private readonly Func<int, string, bool> _isAlive = isAlive ?? IsNodeProcessAlive;

    public static string ProviderIdOf(string nodeName) => ProviderPrefix + nodeName;

    /// <summary>The instances in DATA/cluster.json; empty when there is no readable file.</summary>
    public IReadOnlyDictionary<string, LocalInstance> Load()
    {
        var path = Path.Combine(dataDirectory, "cluster.json");
        var result = new Dictionary<string, LocalInstance>(StringComparer.Ordinal);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            if (!doc.RootElement.TryGetProperty("nodes", out var nodes) || nodes.ValueKind != JsonValueKind.Array) return result;
            foreach (var n in nodes.EnumerateArray())
            {
                var name = Str(n, "name");
                if (name.Length == 0) continue;
                var pid = n.TryGetProperty("pid", out var p) && p.ValueKind == JsonValueKind.Number ? p.GetInt32() : 0;
                result[name] = new LocalInstance(name, Str(n, "zone"), Str(n, "ip"), pid);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or InvalidOperationException or FormatException)
        {
            // no launcher here, or the file is being replaced: nothing is known
        }
        return result;
    }

    private static string Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() ?? "" : "";

    public Task<bool> InstanceExistsAsync(V1Node node, CancellationToken ct = default)
    {
        var name = node.Metadata?.Name ?? "";
        // Unknown to this cloud: it cannot say the instance is gone.
        if (!Load().TryGetValue(name, out var instance)) return Task.FromResult(true);
        return Task.FromResult(_isAlive(instance.Pid, instance.Name));
    }

    public Task<InstanceMetadata?> InstanceMetadataAsync(V1Node node, CancellationToken ct = default)
    {
        var name = node.Metadata?.Name ?? "";
        if (!Load().TryGetValue(name, out var instance)) return Task.FromResult<InstanceMetadata?>(null);
        var addresses = new List<V1NodeAddress> { new() { Type = "Hostname", Address = name } };
        if (instance.Ip.Length > 0) addresses.Insert(0, new V1NodeAddress { Type = "InternalIP", Address = instance.Ip });
        return Task.FromResult<InstanceMetadata?>(new InstanceMetadata(ProviderIdOf(name), InstanceType, addresses,
            instance.Zone.Length > 0 ? instance.Zone : null, region));
    }

    /// <summary>A live (not zombie) process whose command line carries `--node-name NAME` (a reused PID does not count).</summary>
    public static bool IsNodeProcessAlive(int pid, string name)
    {
        if (pid <= 0) return false;
        try
        {
            var cmdline = File.ReadAllBytes($"/proc/{pid}/cmdline");
            if (cmdline.Length == 0) return false;
            var args = Encoding.UTF8.GetString(cmdline).Split('\0');
            var named = false;
            for (var i = 0; i + 1 < args.Length && !named; i++)
                named = args[i] == "--node-name" && args[i + 1] == name;
            if (!named) return false;
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var close = stat.LastIndexOf(')');
            return close < 0 || close + 2 >= stat.Length || stat[close + 2] != 'Z';
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
