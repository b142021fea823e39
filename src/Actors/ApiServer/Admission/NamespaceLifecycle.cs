using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Hosting;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.ApiServer.Admission;

/// <summary>
/// The namespaces this control-plane node's apiservers know from their informer (Kubernetes' NamespaceLifecycle
/// lister): a create in a namespace the cache shows active skips the store round trip. Everything else — a namespace
/// the cache does not have (yet), one being terminated, no synced cache, or one this process changed in the last
/// <see cref="LiveLookupAfterChange"/> — is looked up in the store, which answers 404 / 403 as before. As in
/// Kubernetes, a namespace deleted through another apiserver can still take creates until the watch event arrives
/// (milliseconds); the namespace controller removes what is left in it.
/// </summary>
public sealed class NamespaceLister : IExtension
{
    /// <summary>How long a namespace changed through this process is looked up live (kube-apiserver: 30 s).</summary>
    public static readonly TimeSpan LiveLookupAfterChange = TimeSpan.FromSeconds(30);

    /// <summary>Names of the namespaces the cache shows without deletionTimestamp; rebuilt on every namespace event (few).</summary>
    private volatile HashSet<string>? _active;
    private readonly ConcurrentDictionary<string, long> _liveUntil = new(StringComparer.Ordinal);
    private long _allLiveUntil;

    public static NamespaceLister Get(ActorSystem system) => system.WithExtension<NamespaceLister, NamespaceListerProvider>();

    /// <summary>True only when the synced cache shows <paramref name="ns"/> existing and not being terminated.</summary>
    public bool KnownActive(string ns)
    {
        if (_active is not { } active || !active.Contains(ns)) return false;
        if (Environment.TickCount64 < Volatile.Read(ref _allLiveUntil)) return false;
        if (!_liveUntil.IsEmpty && _liveUntil.TryGetValue(ns, out var until))
        {
            if (Environment.TickCount64 < until) return false;
            _liveUntil.TryRemove(ns, out _);
        }
        return true;
    }

    /// <summary>
    /// This process is changing namespace <paramref name="ns"/> (delete, update, patch), or every namespace when null
    /// (deletecollection): look it up live until the watch has surely delivered the change.
    /// </summary>
    public void Changing(string? ns)
    {
        var until = Environment.TickCount64 + (long)LiveLookupAfterChange.TotalMilliseconds;
        if (ns is null) Volatile.Write(ref _allLiveUntil, until);
        else _liveUntil[ns] = until;
    }

    internal void Publish(InformerStore? store) =>
        _active = store?.Objects.Where(o => o.Value["metadata"]?["deletionTimestamp"] is null).Select(o => o.Key).ToHashSet(StringComparer.Ordinal);
}

public sealed class NamespaceListerProvider : ExtensionIdProvider<NamespaceLister>
{
    public override NamespaceLister CreateExtension(ExtendedActorSystem system) => new();
}

/// <summary>Feeds the <see cref="NamespaceLister"/> from the process's shared namespaces informer.</summary>
public sealed class NamespaceCache : ReceiveActor
{
    private readonly IKubeApi _api;

    public NamespaceCache(IKubeApi api, NamespaceLister lister)
    {
        _api = api;
        Receive<InformerProtocol.Synced>(s => lister.Publish(s.Store));
        Receive<InformerProtocol.Added>(a => lister.Publish(a.Store));
        Receive<InformerProtocol.Updated>(u => lister.Publish(u.Store));
        Receive<InformerProtocol.Deleted>(d => lister.Publish(d.Store));
    }

    protected override void PreStart() =>
        SharedInformers.Get(Context.System).Subscribe(_api, new InformerOptions(ApiResource.Namespaces), Self);

    protected override void PostStop() => NamespaceLister.Get(Context.System).Publish(null);

    public static Props Props(IKubeApi api, NamespaceLister lister) => Akka.Actor.Props.Create(() => new NamespaceCache(api, lister));
}

public static class NamespaceLifecycleHostingExtensions
{
    /// <summary>The namespace cache on control-plane nodes (after AddApiServer: it reads through the in-cluster API).</summary>
    public static AkkaConfigurationBuilder AddNamespaceLister(this AkkaConfigurationBuilder builder, NodeOptions node) =>
        builder.WithActors((system, registry) =>
        {
            if (!node.ControlPlane) return;
            var cache = system.ActorOf(NamespaceCache.Props(KubeApi.Get(system).Api, NamespaceLister.Get(system)), AkkaKubeNames.Actors.NamespaceCache);
            registry.Register<NamespaceCache>(cache);
        });
}
