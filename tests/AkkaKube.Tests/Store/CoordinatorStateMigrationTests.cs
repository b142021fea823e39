using System.Data.Common;
using AkkaKube.Actors.Store;
using AkkaKube.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace AkkaKube.Tests.Store;

/// <summary>
/// A journal from a build whose store coordinator kept its state in distributed data holds rows under the coordinator's
/// persistence id that the journal-backed coordinator refuses: they go once, before the node starts, and nothing else
/// does — not the partitions' own streams, not the rows the new coordinator writes afterwards.
/// </summary>
public sealed class CoordinatorStateMigrationTests
{
    private const string Partition = "store-partition-pods";

    // The shape of Akka.Persistence.Sql's tables, as far as the migration reads them.
    private static void CreateJournal(DbConnection c, bool postgres)
    {
        var bytes = postgres ? "BYTEA" : "BLOB";
        foreach (var sql in new[]
                 {
                     $"CREATE TABLE journal (persistence_id VARCHAR(255) NOT NULL, sequence_number BIGINT NOT NULL, message {bytes})",
                     $"CREATE TABLE snapshot (persistence_id VARCHAR(255) NOT NULL, sequence_number BIGINT NOT NULL, snapshot {bytes})",
                     "CREATE TABLE tags (ordering_id BIGINT NOT NULL, tag VARCHAR(64) NOT NULL, sequence_nr BIGINT NOT NULL, persistence_id VARCHAR(255) NOT NULL)",
                 })
            Exec(c, sql);
        foreach (var pid in new[] { CoordinatorStateMigration.CoordinatorPersistenceId, Partition })
        {
            for (var seq = 1; seq <= 3; seq++) Exec(c, $"INSERT INTO journal (persistence_id, sequence_number) VALUES ('{pid}', {seq})");
            Exec(c, $"INSERT INTO snapshot (persistence_id, sequence_number) VALUES ('{pid}', 3)");
            Exec(c, $"INSERT INTO tags (ordering_id, tag, sequence_nr, persistence_id) VALUES (1, 't', 1, '{pid}')");
        }
    }

    private static void Exec(DbConnection c, string sql)
    {
        using var command = c.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static long Count(DbConnection c, string table, string pid)
    {
        using var command = c.CreateCommand();
        command.CommandText = $"SELECT count(*) FROM {table} WHERE persistence_id = '{pid}'";
        return Convert.ToInt64(command.ExecuteScalar());
    }

    private static void Migrates_once_and_keeps_everything_else(DbConnection c, bool postgres)
    {
        CreateJournal(c, postgres);
        Assert.Equal(3 + 1 + 1, CoordinatorStateMigration.Run(c, postgres));
        foreach (var table in new[] { "journal", "snapshot", "tags" })
            Assert.Equal(0, Count(c, table, CoordinatorStateMigration.CoordinatorPersistenceId));
        Assert.Equal(3, Count(c, "journal", Partition));
        Assert.Equal(1, Count(c, "snapshot", Partition));
        Assert.Equal(1, Count(c, "tags", Partition));

        // The new coordinator writes its own events; a restarted node must not take them away.
        Exec(c, $"INSERT INTO journal (persistence_id, sequence_number) VALUES ('{CoordinatorStateMigration.CoordinatorPersistenceId}', 1)");
        Assert.Equal(0, CoordinatorStateMigration.Run(c, postgres));
        Assert.Equal(1, Count(c, "journal", CoordinatorStateMigration.CoordinatorPersistenceId));
    }

    [Fact]
    public void Sqlite_journal_of_an_older_build()
    {
        using var dir = new TempDir();
        using var c = new SqliteConnection(SqliteDurability.ConnectionString(Path.Combine(dir.Path, "store.db")));
        c.Open();
        Migrates_once_and_keeps_everything_else(c, postgres: false);
    }

    [Fact]
    public void A_new_journal_is_only_marked()
    {
        using var dir = new TempDir();
        using var c = new SqliteConnection(SqliteDurability.ConnectionString(Path.Combine(dir.Path, "store.db")));
        c.Open();
        Assert.Equal(0, CoordinatorStateMigration.Run(c, postgres: false)); // no tables yet: Akka creates them later
        CreateJournal(c, postgres: false);
        Assert.Equal(0, CoordinatorStateMigration.Run(c, postgres: false));
        Assert.Equal(3, Count(c, "journal", CoordinatorStateMigration.CoordinatorPersistenceId));
    }

    [PostgresFact]
    public async Task Postgres_journal_of_an_older_build()
    {
        await using var db = await PostgresTestDatabase.CreateAsync("coordmig");
        await using var c = new NpgsqlConnection(db.ConnectionString);
        c.Open();
        Migrates_once_and_keeps_everything_else(c, postgres: true);
    }

    /// <summary>
    /// Control planes start together against one empty database: every node's migration succeeds and exactly one marks
    /// the journal. Unserialized, PostgreSQL's CREATE TABLE IF NOT EXISTS fails one of two concurrent creators.
    /// </summary>
    [PostgresFact]
    public async Task Postgres_control_planes_starting_together_all_migrate()
    {
        await using var db = await PostgresTestDatabase.CreateAsync("coordmigrace");
        for (var round = 0; round < 5; round++)
        {
            await using (var c = new NpgsqlConnection(db.ConnectionString))
            {
                c.Open();
                Exec(c, "DROP TABLE IF EXISTS akkakube_meta");
            }
            using var start = new Barrier(4);
            var runs = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
            {
                using var c = new NpgsqlConnection(db.ConnectionString);
                c.Open();
                start.SignalAndWait(TimeSpan.FromSeconds(30));
                return CoordinatorStateMigration.Run(c, postgres: true);
            })).ToArray();
            Assert.All(await Task.WhenAll(runs), removed => Assert.Equal(0, removed));
        }
    }
}
