using Akka.Actor;
using AkkaKube.Actors.Store;
using static AkkaKube.Actors.Store.StoreProtocol;

namespace AkkaKube.Tests.Store;

/// <summary>A fact that runs only when AKKAKUBE_TEST_POSTGRES holds a PostgreSQL connection string.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public const string Variable = "AKKAKUBE_TEST_POSTGRES";

    public PostgresFactAttribute()
    {
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(Variable)))
            Skip = $"{Variable} is not set: no PostgreSQL to test against (set it to a connection string, e.g. Host=127.0.0.1;Port=5432;Username=postgres;Database=postgres)";
    }
}

/// <summary>The partition actor over PostgreSQL: the same code as SQLite, chosen by HOCON (hocon/persistence-postgres.conf).</summary>
public sealed class StorePostgresSpecs() : Akka.TestKit.Xunit2.TestKit(
    StoreTestConfig.Postgres(Environment.GetEnvironmentVariable(PostgresFactAttribute.Variable) ?? ""), "store-postgres-specs")
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    // Tables are shared between runs: every test writes its own partition.
    private readonly string _partition = "configmaps-" + Guid.NewGuid().ToString("N")[..12];

    private T Ask<T>(IActorRef store, object message)
    {
        var probe = CreateTestProbe();
        store.Tell(message, probe.Ref);
        return probe.ExpectMsg<T>(Wait);
    }

    private void StopAndWait(IActorRef store)
    {
        var probe = CreateTestProbe();
        probe.Watch(store);
        store.Tell(StoreActor.Stop.Instance);
        probe.ExpectTerminated(store, Wait);
    }

    [PostgresFact]
    public void A_partition_on_postgres_recovers_exactly_after_a_restart_with_snapshots()
    {
        var settings = StoreSettings.Default with { SnapshotEvery = 7, SnapshotStateFactor = 0 };
        var store = Sys.ActorOf(StoreActor.Props(_partition, settings));
        var probes = Enumerable.Range(0, 30).Select(_ => CreateTestProbe()).ToList();
        for (var i = 0; i < probes.Count; i++)
            store.Tell(new CreateObject(_partition, Objects.ConfigMap($"cm-{i:D2}").Json), probes[i].Ref);
        foreach (var p in probes) p.ExpectMsg<ObjectReply>(Wait);
        Ask<ObjectReply>(store, new DeleteObject(_partition, "default", "cm-07"));
        var before = Ask<ListReply>(store, new ListObjects(_partition, null, null, null));
        StopAndWait(store);

        var again = Sys.ActorOf(StoreActor.Props(_partition, settings));
        var after = Ask<ListReply>(again, new ListObjects(_partition, null, null, null));
        Assert.Equal(before.Items, after.Items);
        Assert.Equal(31, after.Revision);
    }
}
