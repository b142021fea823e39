using System.Text.RegularExpressions;
using Akka;
using Akka.Actor;
using Akka.Event;

namespace AkkaKube.Actors.Client;

/// <summary>
/// The process's shared informer factory (client-go's SharedInformerFactory): one <see cref="Informer"/> per API and
/// <see cref="InformerOptions"/> (resource, namespace, selectors) however many actors of the process watch it, so a
/// resource is listed and watched once and each object is parsed once. Subscribers receive the informer's events as
/// if it were their own (Synced, then Added/Updated/Deleted with the shared <see cref="InformerStore"/>).
/// </summary>
public sealed class SharedInformers : IExtension
{
    private readonly IActorRef _factory;

    internal SharedInformers(ExtendedActorSystem system)
    {
        _factory = system.SystemActorOf(InformerFactory.Props(), "shared-informers");
        // Informers watch their (often remote) store partitions. As system actors they would otherwise stop after user
        // actors, racing remoting's own shutdown: their unwatch messages then fail ("Remoting is not running") and are
        // logged as errors. Stopping them while the cluster is still up ends every watch cleanly.
        CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseServiceStop, "stop-shared-informers", async () =>
        {
            try
            {
                await _factory.GracefulStop(TimeSpan.FromSeconds(5));
            }
            catch (TaskCanceledException) { }
            return Done.Instance;
        });
    }

    public static SharedInformers Get(ActorSystem system) => system.WithExtension<SharedInformers, SharedInformersProvider>();

    /// <summary>
    /// Subscribes <paramref name="subscriber"/> (death-watched) to the process's informer for these options, starting
    /// it if none runs. A subscriber subscribing again (an actor restarted by its supervisor) is sent the whole cache
    /// again as <see cref="InformerProtocol.Synced"/>, which is what a restarted controller needs.
    /// An in-cluster client's informer lists and watches as that client's <see cref="ActorKubeApi.InformerCaller"/>
    /// (docs/decisions.md): components reading as the same identity share one informer, other identities get their own.
    /// </summary>
    public void Subscribe(IKubeApi api, InformerOptions options, IActorRef subscriber) =>
        _factory.Tell(new InformerFactory.Subscribe(api is ActorKubeApi actor ? actor.InformerClient : api, options, subscriber));

    /// <summary>For `akkakube cmd` and tests: the informers this process runs and their subscriber counts.</summary>
    public Task<InformerFactory.Informers> ListAsync(TimeSpan timeout) =>
        _factory.Ask<InformerFactory.Informers>(InformerFactory.GetInformers.Instance, timeout);
}

public sealed class SharedInformersProvider : ExtensionIdProvider<SharedInformers>
{
    public override SharedInformers CreateExtension(ExtendedActorSystem system) => new(system);
}

/// <summary>
/// Owns the shared informers of one process and their subscriptions. It death-watches subscribers and stops an
/// informer nobody has subscribed to for <see cref="IdleLinger"/> (the singletons that used it moved to another
/// node); an informer that crashes is started again with the same subscribers, which then get a fresh Synced.
/// Deciding both here, where every subscription passes, means no subscription can reach an informer being stopped.
/// </summary>
public sealed partial class InformerFactory : ReceiveActor, IWithTimers
{
    /// <summary>How long an informer without subscribers keeps its watch (a subscriber that stops and another that starts soon after share it).</summary>
    public static readonly TimeSpan IdleLinger = TimeSpan.FromSeconds(5);

    public sealed record Subscribe(IKubeApi Api, InformerOptions Options, IActorRef Subscriber);

    public sealed class GetInformers
    {
        public static readonly GetInformers Instance = new();
    }

    public sealed record InformerInfo(string Resource, string? Namespace, string? LabelSelector, string? FieldSelector, int Subscribers);

    public sealed record Informers(IReadOnlyList<InformerInfo> Items);

    private sealed record Idle(Key Key);

    /// <summary>The API by reference (a test may run several in one system) and the options by value.</summary>
    private readonly record struct Key(IKubeApi Api, InformerOptions Options)
    {
        public bool Equals(Key other) => ReferenceEquals(Api, other.Api) && Options.Equals(other.Options);
        public override int GetHashCode() => HashCode.Combine(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(Api), Options);
    }

    private sealed class Entry(IActorRef informer)
    {
        public IActorRef Informer { get; set; } = informer;
        public HashSet<IActorRef> Subscribers { get; } = [];
    }

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<Key, Entry> _entries = new();
    private readonly Dictionary<IActorRef, Key> _keyOfInformer = new();
    private int _started;

    public ITimerScheduler Timers { get; set; } = null!;

    public InformerFactory()
    {
        Receive<Subscribe>(s =>
        {
            var key = new Key(s.Api, s.Options);
            if (!_entries.TryGetValue(key, out var entry))
            {
                entry = new Entry(Start(key, [s.Subscriber]));
                _entries[key] = entry;
            }
            else entry.Informer.Tell(new InformerProtocol.Subscribe(s.Subscriber));
            entry.Subscribers.Add(s.Subscriber);
            Timers.Cancel(key);
            Context.Watch(s.Subscriber);
        });
        Receive<Terminated>(t =>
        {
            if (_keyOfInformer.Remove(t.ActorRef, out var crashed))
            {
                // Stopped by us (idle) → no entry; crashed → start it again for the same subscribers.
                if (_entries.TryGetValue(crashed, out var entry) && entry.Informer.Equals(t.ActorRef))
                {
                    _log.Warning("informer of {0} stopped unexpectedly; starting it again for {1} subscribers", crashed.Options.Resource.Partition, entry.Subscribers.Count);
                    entry.Informer = Start(crashed, entry.Subscribers.ToList());
                }
                return;
            }
            foreach (var (key, entry) in _entries)
                if (entry.Subscribers.Remove(t.ActorRef) && entry.Subscribers.Count == 0)
                    Timers.StartSingleTimer(key, new Idle(key), IdleLinger);
        });
        Receive<Idle>(idle =>
        {
            if (!_entries.TryGetValue(idle.Key, out var entry) || entry.Subscribers.Count > 0) return;
            _entries.Remove(idle.Key);
            _keyOfInformer.Remove(entry.Informer);
            Context.Unwatch(entry.Informer);
            Context.Stop(entry.Informer);
        });
        Receive<GetInformers>(_ => Sender.Tell(new Informers(_entries
            .Select(kv => new InformerInfo(kv.Key.Options.Resource.Partition, kv.Key.Options.Namespace, kv.Key.Options.LabelSelector,
                kv.Key.Options.FieldSelector, kv.Value.Subscribers.Count))
            .OrderBy(i => i.Resource, StringComparer.Ordinal).ToList())));
    }

    public static Props Props() => Akka.Actor.Props.Create(() => new InformerFactory());

    private IActorRef Start(Key key, IReadOnlyCollection<IActorRef> subscribers)
    {
        var name = $"{Unsafe().Replace(key.Options.Resource.Partition, "-")}-{++_started}";
        var informer = Context.ActorOf(Informer.Props(key.Api, key.Options, subscribers), name);
        Context.Watch(informer);
        _keyOfInformer[informer] = key;
        return informer;
    }

    // A crash is answered by a fresh informer with the same subscribers (Terminated above), not an in-place restart
    // that would forget them.
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    [GeneratedRegex("[^A-Za-z0-9-]")]
    private static partial Regex Unsafe();
}
