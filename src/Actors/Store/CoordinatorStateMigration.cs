using System.Data.Common;
using AkkaKube.Actors.Cluster;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace AkkaKube.Actors.Store;

/// <summary>
/// Upgrades a journal written while the store's shard coordinator kept its state in distributed data (builds before
/// issue 25's second pass) to the journal-backed coordinator (<c>state-store-mode = persistence</c>, hocon/control-plane.conf).
/// The older build left rows under the coordinator's persistence id (its remembered shards and Akka's migration marker)
/// that the persistent coordinator refuses to replay, so it would fail its recovery in a loop and the store would answer
/// nothing. Once per journal — recorded in a row of <c>akkakube_meta</c>, in the same transaction — those rows are
/// deleted before the node starts: the coordinator begins empty and allocates each partition again on its first message,
/// and every object stays in its partition's own journal stream. A journal this build created is only marked.
/// </summary>
public static class CoordinatorStateMigration
{
    public const string CoordinatorPersistenceId = "/system/sharding/" + AkkaKubeNames.Actors.Store + "Coordinator/singleton/coordinator";
    private const string MetaKey = "store-coordinator-state";
    private const string MetaValue = "journal";
    /// <summary>PostgreSQL advisory lock id of the start-up migration: "akkakube" in ASCII, any fixed value would do.</summary>
    private const long AdvisoryLockKey = 0x616B6B616B756265;

    /// <summary>Runs the upgrade for the node's journal; the number of coordinator rows removed (0 when already done).</summary>
    public static int Run(NodeOptions node)
    {
        using DbConnection connection = node.Persistence == PersistenceKind.Postgres
            ? new NpgsqlConnection(node.PostgresConnectionString)
            : new SqliteConnection(SqliteDurability.ConnectionString(node.SqliteFile));
        connection.Open();
        return Run(connection, node.Persistence == PersistenceKind.Postgres);
    }

    public static int Run(DbConnection connection, bool postgres)
    {
        // One node at a time, so two control planes starting together do not both read "not done": SQLite's transaction
        // is BEGIN IMMEDIATE (Microsoft.Data.Sqlite's default: the write lock at once); PostgreSQL's takes a
        // transaction-scoped advisory lock before anything else, because its CREATE TABLE IF NOT EXISTS is not safe
        // against a concurrent twin (the loser fails on the catalog's pg_type_typname_nsp_index; a CI run saw cp-3 exit
        // with it). DDL is transactional in both, so the table is created under the same lock.
        using var tx = connection.BeginTransaction();
        if (postgres) Scalar(connection, tx, "SELECT pg_advisory_xact_lock(@k)", ("k", AdvisoryLockKey));
        Execute(connection, tx, "CREATE TABLE IF NOT EXISTS akkakube_meta (key VARCHAR(100) PRIMARY KEY, value VARCHAR(200) NOT NULL)");
        if (Scalar(connection, tx, "SELECT value FROM akkakube_meta WHERE key = @k", ("k", MetaKey)) is MetaValue)
        {
            tx.Commit();
            return 0;
        }
        var removed = 0;
        foreach (var table in new[] { "journal", "snapshot", "tags" })
            if (TableExists(connection, tx, table, postgres))
                removed += Execute(connection, tx, $"DELETE FROM {table} WHERE persistence_id = @p", ("p", CoordinatorPersistenceId));
        Execute(connection, tx, "INSERT INTO akkakube_meta (key, value) VALUES (@k, @v) ON CONFLICT (key) DO UPDATE SET value = excluded.value", ("k", MetaKey), ("v", MetaValue));
        tx.Commit();
        return removed;
    }

    private static bool TableExists(DbConnection connection, DbTransaction tx, string table, bool postgres) =>
        postgres
            ? Scalar(connection, tx, "SELECT to_regclass(@t) IS NOT NULL", ("t", table)) is true
            : Scalar(connection, tx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = @t", ("t", table)) is long n && n > 0;

    private static int Execute(DbConnection connection, DbTransaction? tx, string sql, params (string Name, object Value)[] parameters)
    {
        using var command = Command(connection, tx, sql, parameters);
        return command.ExecuteNonQuery();
    }

    private static object? Scalar(DbConnection connection, DbTransaction? tx, string sql, params (string Name, object Value)[] parameters)
    {
        using var command = Command(connection, tx, sql, parameters);
        return command.ExecuteScalar();
    }

    private static DbCommand Command(DbConnection connection, DbTransaction? tx, string sql, (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var p = command.CreateParameter();
            p.ParameterName = name;
            p.Value = value;
            command.Parameters.Add(p);
        }
        return command;
    }
}
