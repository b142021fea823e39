namespace AkkaKube.Actors.Store;

/// <summary>Actor-registry key of the store's shard region (control-plane nodes only).</summary>
public sealed class StoreRegion;
