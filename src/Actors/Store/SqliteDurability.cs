using Microsoft.Data.Sqlite;

namespace AkkaKube.Actors.Store;

/// <summary>
/// The SQLite settings the store's durability rests on (docs/store.md, "Durability"): write-ahead log, a full
/// fsync at every commit, and a bounded wait for the file lock the local node processes share.
/// </summary>
public static class SqliteDurability
{
    /// <summary>
    /// How long a statement waits for another process's lock before it fails (Microsoft.Data.Sqlite retries a busy
    /// database until the command timeout). Below the apiserver's store-timeout (10 s), so a write the client was
    /// told timed out cannot still be waiting for the lock and commit afterwards: it has failed.
    /// </summary>
    public static readonly TimeSpan BusyTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The connection string every journal, snapshot and query connection of a node uses.</summary>
    public static string ConnectionString(string file) =>
        new SqliteConnectionStringBuilder
        {
            DataSource = file,
            Pooling = true,
            DefaultTimeout = (int)BusyTimeout.TotalSeconds,
        }.ToString();

    /// <summary>
    /// Puts the database file in WAL mode (a property of the file, kept across connections and restarts): readers
    /// (recoveries, queries of the other nodes) never block the writer, and a commit is one append plus fsync.
    /// synchronous stays FULL, SQLite's default, which with WAL makes every acknowledged commit survive power loss.
    /// </summary>
    public static void Prepare(string file)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        using var connection = new SqliteConnection(ConnectionString(file));
        connection.Open();
        var mode = Scalar(connection, "PRAGMA journal_mode=WAL");
        if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"SQLite store {file}: journal_mode is '{mode}', WAL could not be set");
    }

    /// <summary>The pragmas as a connection of the node sees them (for tests and diagnostics).</summary>
    public static (string JournalMode, int Synchronous, TimeSpan CommandTimeout) Read(string file)
    {
        using var connection = new SqliteConnection(ConnectionString(file));
        connection.Open();
        using var command = connection.CreateCommand();
        return (Scalar(connection, "PRAGMA journal_mode"), int.Parse(Scalar(connection, "PRAGMA synchronous"), System.Globalization.CultureInfo.InvariantCulture),
            TimeSpan.FromSeconds(command.CommandTimeout));
    }

    private static string Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToString(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) ?? "";
    }
}
