using System.Collections.Immutable;
using Akka.Actor;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.ApiServer.Registry;

/// <summary>A served resource and the strategy that knows its kind.</summary>
public sealed record Registration(ApiResource Resource, ResourceStrategy Strategy);

/// <summary>
/// The resources this apiserver serves, each with its strategy, in discovery order. Built-in kinds are
/// registered at start (<see cref="BuiltInKinds"/>); kinds added at run time (CustomResourceDefinitions) go
/// through the same <see cref="Register"/> / <see cref="Unregister"/> seam. Reads are lock-free snapshots.
/// </summary>
public sealed class ApiRegistry
{
    private ImmutableList<Registration> _all = [];
    private long _generation;

    /// <summary>Changes on every (un)registration; discovery caches key on it.</summary>
    public long Generation => Interlocked.Read(ref _generation);

    public IReadOnlyList<Registration> Registrations => _all;

    /// <summary>Every served resource, in discovery order (core first).</summary>
    public IEnumerable<ApiResource> All => _all.Select(r => r.Resource);

    /// <summary>Group names in discovery order ("" = core).</summary>
    public IReadOnlyList<string> Groups => _all.Select(r => r.Resource.Group).Distinct().ToList();

    /// <summary>The served versions of a group, preferred first.</summary>
    public IReadOnlyList<string> VersionsOf(string group) => _all.Where(r => r.Resource.Group == group).Select(r => r.Resource.Version).Distinct().ToList();

    /// <summary>Registers (or replaces) the resource at its group/version/resource.</summary>
    public ApiRegistry Register(ApiResource resource, ResourceStrategy? strategy = null)
    {
        var registration = new Registration(resource, strategy ?? ResourceStrategy.Plain);
        ImmutableInterlocked.Update(ref _all, list =>
        {
            var i = list.FindIndex(r => Same(r.Resource, resource));
            return i >= 0 ? list.SetItem(i, registration) : list.Add(registration);
        });
        Interlocked.Increment(ref _generation);
        return this;
    }

    public void Unregister(ApiResource resource)
    {
        ImmutableInterlocked.Update(ref _all, list => list.RemoveAll(r => Same(r.Resource, resource)));
        Interlocked.Increment(ref _generation);
    }

    private static bool Same(ApiResource a, ApiResource b) => a.Group == b.Group && a.Version == b.Version && a.Resource == b.Resource;

    public Registration? Find(string group, string version, string resource) =>
        Index().ByResource.GetValueOrDefault((group, version, resource));

    /// <summary>
    /// Lookups by key, built from one snapshot of the list and rebuilt when the list changed: every request resolves
    /// its resource several times, and a scan of the list (an ImmutableList's enumerator allocates) showed in the profile.
    /// </summary>
    private sealed record Lookup(ImmutableList<Registration> Of,
        Dictionary<(string Group, string Version, string Resource), Registration> ByResource, HashSet<(string Group, string Version)> GroupVersions);

    private Lookup? _lookup;

    private Lookup Index()
    {
        var all = _all;
        if (Volatile.Read(ref _lookup) is { } current && ReferenceEquals(current.Of, all)) return current;
        var byResource = new Dictionary<(string, string, string), Registration>();
        foreach (var r in all) byResource.TryAdd((r.Resource.Group, r.Resource.Version, r.Resource.Resource), r);
        var built = new Lookup(all, byResource, all.Select(r => (r.Resource.Group, r.Resource.Version)).ToHashSet());
        Volatile.Write(ref _lookup, built);
        return built;
    }

    /// <summary>The registration of apiVersion/kind, or null.</summary>
    public Registration? FindByKind(string apiVersion, string kind) =>
        _all.FirstOrDefault(r => r.Resource.ApiVersion == apiVersion && r.Resource.Kind == kind);

    public ResourceStrategy StrategyFor(ApiResource resource) =>
        Find(resource.Group, resource.Version, resource.Resource)?.Strategy ?? ResourceStrategy.Plain;

    public bool IsServedGroupVersion(string group, string version) => Index().GroupVersions.Contains((group, version));

    /// <summary>The protobuf messages of every registered kind plus the shared ones.</summary>
    public IReadOnlyDictionary<string, Dictionary<int, Protobuf.F>> ProtobufMessages =>
        Protobuf.Combine(_all.Select(r => r.Strategy.ProtobufMessages));

    /// <summary>A registry with the built-in kinds.</summary>
    public static ApiRegistry CreateBuiltIn() => BuiltInKinds.RegisterAll(new ApiRegistry());
}

/// <summary>
/// The registry of this node's apiserver (HTTP front and `apiserver` actor share it): <c>ApiRegistryExtension.Get(system).Registry</c>.
/// </summary>
public sealed class ApiRegistryExtension : IExtension
{
    public ApiRegistry Registry { get; } = ApiRegistry.CreateBuiltIn();

    public static ApiRegistryExtension Get(ActorSystem system) => system.WithExtension<ApiRegistryExtension, ApiRegistryExtensionProvider>();
}

public sealed class ApiRegistryExtensionProvider : ExtensionIdProvider<ApiRegistryExtension>
{
    public override ApiRegistryExtension CreateExtension(ExtendedActorSystem system) => new();
}
