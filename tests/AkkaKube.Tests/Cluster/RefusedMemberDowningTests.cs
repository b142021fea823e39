using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using AkkaKube.Actors.Cluster;

namespace AkkaKube.Tests.ClusterSpecs;

public sealed class RefusalTrackerTests
{
    private static readonly Address Member = new("akka.tcp", "akkakube", "127.1.0.2", 4000);

    [Fact]
    public void A_member_is_due_for_downing_only_after_the_configured_refusals_in_a_row()
    {
        var tracker = new RefusalTracker(refusalsToDown: 2, TimeSpan.FromSeconds(3));
        tracker.Disassociated(Member, DateTime.UtcNow);
        Assert.False(tracker.Probed(Member, refused: true));
        Assert.False(tracker.Probed(Member, refused: false)); // an accepted connection resets the count
        Assert.False(tracker.Probed(Member, refused: true));
        Assert.True(tracker.Probed(Member, refused: true));
    }

    [Fact]
    public void A_reachable_member_stops_being_probed_when_its_watch_window_ends_but_an_unreachable_one_does_not()
    {
        var now = DateTime.UtcNow;
        var other = new Address("akka.tcp", "akkakube", "127.1.0.3", 4000);
        var tracker = new RefusalTracker(2, TimeSpan.FromSeconds(3));
        tracker.Disassociated(Member, now);
        tracker.Unreachable(other);
        Assert.Equal(2, tracker.DueForProbe(now).Count);
        Assert.Equal([other], tracker.DueForProbe(now + TimeSpan.FromSeconds(4)));
        tracker.Reachable(other);
        Assert.Empty(tracker.DueForProbe(now + TimeSpan.FromSeconds(4)));
    }

    [Fact]
    public void Probes_of_a_member_that_is_not_a_suspect_are_ignored()
    {
        var tracker = new RefusalTracker(1, TimeSpan.FromSeconds(3));
        Assert.False(tracker.Probed(Member, refused: true));
    }

    [Fact]
    public void Bad_settings_are_rejected_with_the_option_named()
    {
        var config = ConfigurationFactory.ParseString("akkakube.cluster.down-refused-members { refusals-to-down = 0 }");
        var e = Assert.Throws<ConfigurationException>(() => RefusedMemberDowningSettings.Create(config));
        Assert.Contains("refusals-to-down", e.Message);
    }
}

/// <summary>
/// Two ActorSystems in one cluster whose failure detector would take a minute and which have no downing provider: a
/// member whose process is gone must still be downed and removed at once (its port refuses), a live one never.
/// </summary>
public sealed class RefusedMemberDowningTests : IAsyncLifetime
{
    private ActorSystem _observer = null!;
    private ActorSystem _member = null!;

    private static Config NodeConfig() => ConfigurationFactory.ParseString("""
        akka.actor.provider = cluster
        akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }
        akka.cluster.failure-detector.acceptable-heartbeat-pause = 60s
        akka.cluster.downing-provider-class = ""
        akka.cluster.run-coordinated-shutdown-when-down = off
        akka.coordinated-shutdown.run-by-actor-system-terminate = off
        akka.loglevel = WARNING
        """);

    public async Task InitializeAsync()
    {
        _observer = ActorSystem.Create("downing", NodeConfig());
        _member = ActorSystem.Create("downing", NodeConfig());
        var observerCluster = Akka.Cluster.Cluster.Get(_observer);
        await observerCluster.JoinAsync(observerCluster.SelfAddress);
        await Akka.Cluster.Cluster.Get(_member).JoinAsync(observerCluster.SelfAddress);
        await Eventually(() => observerCluster.State.Members.Count(m => m.Status == MemberStatus.Up) == 2, "both members Up");
        _observer.ActorOf(RefusedMemberDowning.Props(new RefusedMemberDowningSettings(
            // A generous watch window and connect timeout: on a busy CI machine a probe of a live member can take long
            // (the live-member test needs three accepted probes inside the window); refusals stay immediate.
            // 30 s / 5 s: a CI run once saw fewer than three accepted probes inside a 10 s window under heavy load.
            Enabled: true, TimeSpan.FromMilliseconds(100), RefusalsToDown: 2, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(5))));
    }

    public async Task DisposeAsync()
    {
        await _member.Terminate();
        await _observer.Terminate();
    }

    [Fact]
    public async Task A_member_whose_actor_system_is_gone_without_leaving_is_downed_and_removed_long_before_the_failure_detector_would_notice()
    {
        var observerCluster = Akka.Cluster.Cluster.Get(_observer);
        var gone = Akka.Cluster.Cluster.Get(_member).SelfAddress;
        // No leave (run-by-actor-system-terminate = off): its remoting port just closes, as with kill -9.
        await _member.Terminate();
        await Eventually(() => observerCluster.State.Members.All(m => !m.Address.Equals(gone)), $"{gone} removed");
        Assert.Single(observerCluster.State.Members);
    }

    [Fact]
    public async Task A_live_member_whose_association_dropped_is_probed_and_left_up()
    {
        var observerCluster = Akka.Cluster.Cluster.Get(_observer);
        var live = Akka.Cluster.Cluster.Get(_member).SelfAddress;
        var accepted = 0;
        var probes = _observer.ActorOf(Props.Create(() => new ProbeCounter(() => Interlocked.Increment(ref accepted))));
        _observer.EventStream.Subscribe(probes, typeof(RefusedMemberDowning.Probed));
        _observer.EventStream.Publish(new Akka.Remote.DisassociatedEvent(observerCluster.SelfAddress, live, inbound: false));
        await Eventually(() => Volatile.Read(ref accepted) >= 3, "three probes of the live member");
        Assert.Contains(observerCluster.State.Members, m => m.Address.Equals(live) && m.Status == MemberStatus.Up);
    }

    private sealed class ProbeCounter : ReceiveActor
    {
        public ProbeCounter(Action onAccepted) =>
            Receive<RefusedMemberDowning.Probed>(p => { if (!p.Refused) onAccepted(); });
    }

    private static async Task Eventually(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(45);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"not within 45 s: {what}");
            await Task.Delay(50);
        }
    }
}
