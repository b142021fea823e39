using System.Text;
using Akka.Actor;
using AkkaKube.Actors.Security;
using AkkaKube.Actors.Store;
using AkkaKube.Tests.Infrastructure;
using AkkaKube.Tests.Security;
using Microsoft.Data.Sqlite;
using static AkkaKube.Actors.Store.StoreProtocol;

namespace AkkaKube.Tests.Store;

/// <summary>
/// Encryption at rest in a real SQLite journal: a configured resource's objects are ciphertext in every journal row
/// and snapshot, plain to every reader, recovered after a restart and readable after a key rotation; other resources
/// stay as they are; a partition whose key was removed stops instead of serving anything.
/// </summary>
public sealed class StoreEncryptionSpecs : Akka.TestKit.Xunit2.TestKit
{
    private const string P = "secrets";
    private const string Password = "aHVudGVyMg=="; // "hunter2"
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private static readonly string Key1 = Convert.ToBase64String(Enumerable.Repeat((byte)7, 32).ToArray());
    private static readonly string Key2 = Convert.ToBase64String(Enumerable.Repeat((byte)9, 32).ToArray());
    private readonly TempDir _dir;

    public StoreEncryptionSpecs() : this(new TempDir()) { }

    private StoreEncryptionSpecs(TempDir dir) : base(StoreTestConfig.Sqlite(Path.Combine(dir.Path, "store.db")), "store-encryption-specs")
    {
        _dir = dir;
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    private static StoreSettings With(string providers) => StoreSettings.Default with
    {
        SnapshotEvery = 5, SnapshotStateFactor = 0,
        Encryption = EncryptionConfiguration.Parse(EncryptionConfigurationTests.Config(providers)),
    };

    private static string Secret(string name) =>
        $$$"""{"kind":"Secret","apiVersion":"v1","metadata":{"name":"{{{name}}}","namespace":"default"},"data":{"password":"{{{Password}}}"}}""";

    [Fact]
    public void Secrets_are_ciphertext_on_disk_plain_to_readers_recovered_and_readable_after_a_key_rotation()
    {
        var first = With(EncryptionConfigurationTests.AesGcm(("key1", Key1)) + EncryptionConfigurationTests.Identity);
        var store = Sys.ActorOf(StoreActor.Props(P, first));
        for (var i = 0; i < 7; i++) Ask<ObjectReply>(store, new CreateObject(P, Secret($"s-{i}")));
        Assert.Contains(Password, Ask<ObjectReply>(store, new GetObject(P, "default", "s-6")).ObjectJson);
        var configMaps = Sys.ActorOf(StoreActor.Props("configmaps", first));
        Ask<ObjectReply>(configMaps, new CreateObject("configmaps", """{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"c","namespace":"default"},"data":{"k":"plain-value"}}"""));

        AwaitAssert(() => Assert.Equal(1L, Scalar("SELECT COUNT(*) FROM snapshot WHERE persistence_id = 'store-secrets'")), Wait, TimeSpan.FromMilliseconds(100));
        Stop(store);
        var disk = DiskText();
        Assert.DoesNotContain(Password, disk);
        Assert.DoesNotContain("\"s-3\"", disk); // names and labels are inside the ciphertext too
        Assert.Contains("k8s:enc:aesgcm:v1:key1:", disk);
        Assert.Contains("plain-value", disk); // configmaps are not configured: stored as they are

        // a new key first, the old one still listed: everything recovers, new writes use the new key
        var rotated = With(EncryptionConfigurationTests.AesGcm(("key2", Key2), ("key1", Key1)));
        store = Sys.ActorOf(StoreActor.Props(P, rotated));
        var list = Ask<ListReply>(store, new ListObjects(P, null, null, null));
        Assert.Equal(7, list.Items.Count);
        Assert.All(list.Items, o => Assert.Contains(Password, o));
        Ask<ObjectReply>(store, new CreateObject(P, Secret("after-rotation")));
        Stop(store);
        Assert.Contains("k8s:enc:aesgcm:v1:key2:", DiskText());

        // the old key removed while data still needs it: the partition stops rather than serve a partial state
        var removed = With(EncryptionConfigurationTests.AesGcm(("key3", Convert.ToBase64String(new byte[32]))));
        var probe = CreateTestProbe();
        var broken = EventFilter.Error(contains: "store partition secrets cannot recover").ExpectOne(Wait, () =>
        {
            var restarted = Sys.ActorOf(StoreActor.Props(P, removed));
            probe.Watch(restarted);
            restarted.Tell(new ListObjects(P, null, null, null), probe.Ref);
            return restarted;
        });
        probe.ExpectTerminated(broken, Wait);
    }

    private void Stop(IActorRef store)
    {
        var probe = CreateTestProbe();
        probe.Watch(store);
        store.Tell(StoreActor.Stop.Instance);
        probe.ExpectTerminated(store, Wait);
    }

    /// <summary>Every journal and snapshot payload of the database, as text (the JSON serializer writes UTF-8).</summary>
    private string DiskText()
    {
        using var connection = new SqliteConnection(SqliteDurability.ConnectionString(Path.Combine(_dir.Path, "store.db")));
        connection.Open();
        var text = new StringBuilder();
        foreach (var sql in new[] { "SELECT message FROM journal", "SELECT snapshot FROM snapshot" })
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            using var reader = command.ExecuteReader();
            while (reader.Read())
                text.Append(reader.GetValue(0) switch { byte[] b => Encoding.UTF8.GetString(b), var v => v.ToString() }).Append('\n');
        }
        return text.ToString();
    }

    private T Ask<T>(IActorRef store, object message)
    {
        var probe = CreateTestProbe();
        store.Tell(message, probe.Ref);
        return probe.ExpectMsg<T>(Wait);
    }

    private long Scalar(string sql)
    {
        using var connection = new SqliteConnection(SqliteDurability.ConnectionString(Path.Combine(_dir.Path, "store.db")));
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar() ?? 0L);
    }
}
