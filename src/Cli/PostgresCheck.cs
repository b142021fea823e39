using Npgsql;

namespace AkkaKube.Cli;

/// <summary>
/// `akkakube up --postgres`: checks the connection string before any node starts, so a typo or an unreachable server is
/// one line from the CLI instead of N node processes whose store partitions fail to recover.
/// </summary>
public static class PostgresCheck
{
    /// <summary>Parses <paramref name="connectionString"/> and opens one connection (SELECT 1); throws a one-line CliException otherwise.</summary>
    public static void Check(string connectionString, TimeSpan timeout)
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            throw new CliException($"--postgres: invalid connection string: {FirstLine(e.Message)}");
        }
        if (string.IsNullOrWhiteSpace(builder.Host))
            throw new CliException("--postgres: invalid connection string: no Host (e.g. Host=127.0.0.1;Port=5432;Username=akkakube;Database=akkakube)");
        builder.Timeout = Math.Max(1, (int)Math.Ceiling(timeout.TotalSeconds));
        builder.Pooling = false;
        var target = $"{builder.Host}:{builder.Port}/{builder.Database ?? builder.Username ?? "(default database)"}";
        try
        {
            using var connection = new NpgsqlConnection(builder.ConnectionString);
            connection.Open();
            using var command = new NpgsqlCommand("SELECT 1", connection);
            command.ExecuteScalar();
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException or ArgumentException or System.Net.Sockets.SocketException)
        {
            throw new CliException($"--postgres: cannot use PostgreSQL at {target}: {FirstLine(e is PostgresException pg ? pg.MessageText : e.Message)}");
        }
    }

    private static string FirstLine(string s) => s.Split('\n', 2)[0].Trim();
}
