using Akka.Configuration;

namespace AkkaKube.Actors.Cluster;

/// <summary>Builds the node's HOCON: flags over --config files over the failover profile over persistence over role files over base.</summary>
public static class NodeConfig
{
    public static Config Build(NodeOptions node, string hoconDirectory)
    {
        var layers = new List<Config> { FromFlags(node) };
        foreach (var file in node.ConfigFiles.Reverse())
            layers.Add(Load(file));
        if (node.Failover == FailoverProfile.Fast)
            layers.Add(Load(Path.Combine(hoconDirectory, "failover-fast.conf")));
        layers.Add(Load(Path.Combine(hoconDirectory,
            node.Persistence == PersistenceKind.Postgres ? "persistence-postgres.conf" : "persistence-sqlite.conf")));
        if (node.Worker) layers.Add(Load(Path.Combine(hoconDirectory, "worker.conf")));
        if (node.ControlPlane) layers.Add(Load(Path.Combine(hoconDirectory, "control-plane.conf")));
        layers.Add(Load(Path.Combine(hoconDirectory, "base.conf")));

        var config = layers[0];
        foreach (var fallback in layers.Skip(1))
            config = config.WithFallback(fallback);
        return config;
    }

    public static Config Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new NodeConfigException($"cannot read HOCON file '{path}': {e.Message}");
        }
        try
        {
            return ConfigurationFactory.ParseString(text);
        }
        catch (Exception e)
        {
            throw new NodeConfigException($"invalid HOCON in '{path}': {FirstLine(e.Message)}");
        }
    }

    private static string FirstLine(string s) => s.Split('\n', 2)[0].Trim();

    private static Config FromFlags(NodeOptions node)
    {
        var connection = node.Persistence == PersistenceKind.Postgres
            ? node.PostgresConnectionString!
            // Shared by several local processes: wait on the file lock, but less than the apiserver's store timeout.
            : AkkaKube.Actors.Store.SqliteDurability.ConnectionString(node.SqliteFile);
        var seeds = string.Join(", ", node.SeedNodes.Select(s => Quote(AkkaKubeNames.Remoting.WithScheme(s, node.RemotingTls))));
        var roles = string.Join(", ", node.Roles.Select(Quote));
        var runtime = node.Runtime is null ? "" : $"akkakube.kubelet.runtime = {Quote(node.Runtime)}";
        var encryption = node.EncryptionProviderConfig is null ? "" : $"akkakube.store.encryption-provider-config = {Quote(node.EncryptionProviderConfig)}";
        // Every node of a cluster shares the data directory's pki (as it shares the CA): the secret is created once there.
        var secretFile = Security.RemotingSecret.EnsureFile(node.DataDirectory);
        var endpoint = node.ContainerRuntimeEndpoint is null ? "" : $"akkakube.kubelet.container-runtime-endpoint = {Quote(node.ContainerRuntimeEndpoint)}";
        var domain = node.ClusterDomain is null ? "" : $"akkakube.dns.cluster-domain = {Quote(node.ClusterDomain)}";
        var proxyMode = node.ProxyMode is null ? "" : $"akkakube.proxy.mode = {Quote(node.ProxyMode)}";
        return ConfigurationFactory.ParseString($$"""
            {{runtime}}
            {{domain}}
            {{endpoint}}
            {{proxyMode}}
            {{encryption}}
            akka.remote.dot-netty.tcp.hostname = {{Quote(node.NodeIp.ToString())}}
            akka.remote.dot-netty.tcp.port = {{node.RemotingPort}}
            akka.remote.dot-netty.tcp.enable-ssl = {{(node.RemotingTls ? "on" : "off")}}
            akka.remote.dot-netty.tcp.applied-adapters = ["akkakube-secret"]
            akkakube.remoting.secret-file = {{Quote(secretFile)}}
            akka.cluster.roles = [{{roles}}]
            akka.cluster.seed-nodes = [{{seeds}}]
            akka.persistence.journal.sql.connection-string = {{Quote(connection)}}
            akka.persistence.query.journal.sql.connection-string = {{Quote(connection)}}
            akka.persistence.snapshot-store.sql.connection-string = {{Quote(connection)}}
            """);
    }

    private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}

public sealed class NodeConfigException(string message) : Exception(message);
