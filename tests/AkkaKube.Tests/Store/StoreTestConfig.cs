using Akka.Configuration;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Store;
using AkkaKube.Host;

namespace AkkaKube.Tests.Store;

/// <summary>HOCON for store tests: the project's own persistence and serialization files, a temp SQLite file.</summary>
public static class StoreTestConfig
{
    public static string SqliteConnection(string file) => SqliteDurability.ConnectionString(file);

    /// <summary>A local (non-cluster) actor system persisting into <paramref name="file"/>.</summary>
    public static Config Sqlite(string file, string extra = "")
    {
        SqliteDurability.Prepare(file);
        return Persistence(SqliteConnection(file), "persistence-sqlite.conf", extra);
    }

    public static Config Postgres(string connection, string extra = "") =>
        Persistence(connection, "persistence-postgres.conf", extra);

    private static Config Persistence(string connection, string file, string extra) =>
        ConfigurationFactory.ParseString($$"""
            akka.actor.provider = local
            akka.loglevel = WARNING
            akka.stdout-loglevel = WARNING
            akka.persistence.journal.sql.connection-string = "{{connection}}"
            akka.persistence.snapshot-store.sql.connection-string = "{{connection}}"
            akka.persistence.query.journal.sql.connection-string = "{{connection}}"
            {{extra}}
            """)
            .WithFallback(NodeConfig.Load(Path.Combine(NodeHost.HoconDirectory, file)))
            .WithFallback(NodeConfig.Load(Path.Combine(NodeHost.HoconDirectory, "base.conf")));
}
