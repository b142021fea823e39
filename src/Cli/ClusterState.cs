using System.Text.Json;
using System.Text.Json.Serialization;

namespace AkkaKube.Cli;

/// <summary>DATA/cluster.json: what `up` started, so `down`, `status` and `cmd &lt;node&gt;` find it again.</summary>
public sealed record ClusterState
{
    /// <summary>The cluster's name (`up --name`); null for a cluster started by data directory only.</summary>
    public string? Name { get; init; }
    public required string DataDirectory { get; init; }
    public required int ApiPort { get; init; }
    /// <summary>The share of the loopback ranges the cluster uses (`up --address-block`).</summary>
    public int AddressBlock { get; init; }
    public DateTime StartedAt { get; init; } = DateTime.UtcNow;
    /// <summary>"netns" for `up --hosts netns` (each node in its own network namespace, DATA/hosts.json), null on loopback.</summary>
    public string? Hosts { get; init; }
    public string? HostsCidr { get; init; }
    public required IReadOnlyList<NodeState> Nodes { get; init; }

    public const string FileName = "cluster.json";

    /// <summary>The command host token of this cluster (DATA/cmd-token), null when there is none.</summary>
    [JsonIgnore]
    public string? CmdToken => Actors.Cmd.CmdTokenFile.TryRead(DataDirectory);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public static string PathIn(string dataDir) => Path.Combine(dataDir, FileName);

    public static ClusterState? Load(string dataDir)
    {
        var path = PathIn(dataDir);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<ClusterState>(File.ReadAllText(path), Json)
                   ?? throw new CliException($"'{path}' is empty");
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot read '{path}': {e.Message.Split('\n')[0]}");
        }
    }

    public void Save()
    {
        var path = PathIn(DataDirectory);
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, JsonSerializer.Serialize(this, Json));
        File.Move(tmp, path, overwrite: true);
        PrometheusTargets.Write(this, Name ?? "akkakube");
    }
}

public sealed record NodeState
{
    public required string Name { get; init; }
    public required int Ordinal { get; init; }
    public required string Roles { get; init; }
    public required string Zone { get; init; }
    public required string Ip { get; init; }
    public required int Port { get; init; }
    public required int CmdPort { get; init; }
    /// <summary>The node's metrics and health port on its own IP (0 in a cluster.json written before it existed).</summary>
    public int MetricsPort { get; init; }
    public required string PodCidr { get; init; }
    public required string LogFile { get; init; }
    public required IReadOnlyList<string> Command { get; init; }
    public int Pid { get; init; }
    /// <summary>&gt; 0: a hollow-only worker process running this many simulated kubelets (&lt;name&gt;-hollow-&lt;i&gt;).</summary>
    public int HollowNodes { get; init; }
    /// <summary>`up --runtime containerd`: the directory of this worker's own containerd (socket, config, CNI), else null.</summary>
    public string? ContainerdDirectory { get; init; }
    public int ContainerdPid { get; init; }
    /// <summary>`up --hosts netns`: the node's network namespace, and the address its command host listens on (else 127.0.0.1).</summary>
    public string? Namespace { get; init; }
    public string? CmdHost { get; init; }
    [JsonIgnore] public string CmdAddress => CmdHost ?? "127.0.0.1";

    /// <summary>The node runs Akka remoting over mutual TLS (`up --remoting-tls`): its address scheme is akka.ssl.tcp.</summary>
    public bool RemotingTls { get; init; }

    [JsonIgnore] public string Address => Actors.AkkaKubeNames.Remoting.NodeAddress(Ip, Port, RemotingTls);
    /// <summary>http://IP:port of /metrics, /livez, /readyz, /healthz; null when unknown.</summary>
    [JsonIgnore] public string? MetricsUrl => MetricsPort > 0 ? $"http://{Ip}:{MetricsPort}" : null;
    [JsonIgnore] public bool ControlPlane => Roles.Split(',').Contains("control-plane");
    [JsonIgnore] public bool Worker => Roles.Split(',').Contains("worker");

    /// <summary>The Node objects this process registers: its own name, or &lt;name&gt;-hollow-&lt;i&gt; for a hollow-only worker.</summary>
    [JsonIgnore] public IEnumerable<string> NodeNames =>
        HollowNodes > 0 ? Enumerable.Range(0, HollowNodes).Select(i => $"{Name}-hollow-{i}") : Worker ? [Name] : [];
}
