using k8s.Models;

namespace AkkaKube.Actors.Cloud;

/// <summary>
/// A cloud, as the cloud-controller-manager sees it (k8s.io/cloud-provider's Interface): optional parts
/// return null when the cloud has no such feature. AkkaKube ships <see cref="LocalCloudProvider"/>.
/// </summary>
public interface ICloudProvider
{
    string Name { get; }

    /// <summary>Load balancers for <c>type: LoadBalancer</c> services; null when the cloud has none.</summary>
    ILoadBalancers? LoadBalancers { get; }

    /// <summary>
    /// Instances: node initialisation (addresses, zone/region labels, removing the
    /// <c>node.cloudprovider.kubernetes.io/uninitialized</c> taint) and deletion of Node objects whose
    /// instance is gone. Extension point for the node-failover work; the local provider answers from the
    /// cluster's own membership later, null for now.
    /// </summary>
    IInstances? Instances { get; }
}

public interface ILoadBalancers
{
    /// <summary>Create or update the balancer of a service; returns what goes into status.loadBalancer.</summary>
    Task<V1LoadBalancerStatus> EnsureAsync(V1Service service, CancellationToken ct = default);

    /// <summary>The service is gone or no longer a LoadBalancer: free its balancer (idempotent).</summary>
    Task EnsureDeletedAsync(V1Service service, CancellationToken ct = default);

    /// <summary>Re-learn balancers that already exist (a restarted or moved controller) from the services' status.</summary>
    void Adopt(IEnumerable<V1Service> services);
}

public interface IInstances
{
    /// <summary>Does the machine behind this Node still exist? (false → the node lifecycle deletes the Node).</summary>
    Task<bool> InstanceExistsAsync(V1Node node, CancellationToken ct = default);

    /// <summary>Provider ID, addresses, zone and region for a node being initialised.</summary>
    Task<InstanceMetadata?> InstanceMetadataAsync(V1Node node, CancellationToken ct = default);
}

public sealed record InstanceMetadata(string ProviderId, string InstanceType, IReadOnlyList<V1NodeAddress> Addresses, string? Zone, string? Region);
