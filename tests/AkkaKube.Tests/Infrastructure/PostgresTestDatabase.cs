using Npgsql;

namespace AkkaKube.Tests.Infrastructure;

/// <summary>
/// A uniquely named PostgreSQL database on the server that AKKAKUBE_TEST_POSTGRES points at (`.ci/run` starts one on
/// loopback), created for one fixture and dropped (WITH FORCE: the cluster's pools may still hold connections) when it
/// is disposed, so process-level runs never see each other's journal.
/// </summary>
public sealed class PostgresTestDatabase : IAsyncDisposable
{
    public const string Variable = "AKKAKUBE_TEST_POSTGRES";

    private readonly string _admin;

    private PostgresTestDatabase(string admin, string name, string connectionString)
    {
        _admin = admin;
        Name = name;
        ConnectionString = connectionString;
    }

    public string Name { get; }

    /// <summary>The admin connection string with Database = <see cref="Name"/>.</summary>
    public string ConnectionString { get; }

    /// <summary>Why PostgreSQL tests cannot run here; null when AKKAKUBE_TEST_POSTGRES is set.</summary>
    public static string? SkipReason =>
        string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(Variable))
            ? $"{Variable} is not set: no PostgreSQL to test against (`.ci/run` starts one; or set it to a connection string, e.g. Host=127.0.0.1;Port=5432;Username=postgres;Database=postgres)"
            : null;

    public static async Task<PostgresTestDatabase> CreateAsync(string purpose)
    {
        var admin = Environment.GetEnvironmentVariable(Variable) ?? throw new InvalidOperationException($"{Variable} is not set");
        var name = $"akkakube_{purpose}_{Guid.NewGuid():N}";
        if (name.Length > 63) name = name[..63]; // PostgreSQL identifiers
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await create.ExecuteNonQueryAsync();
        }
        var builder = new NpgsqlConnectionStringBuilder(admin) { Database = name };
        return new PostgresTestDatabase(admin, name, builder.ConnectionString);
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(_admin);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
    }
}
