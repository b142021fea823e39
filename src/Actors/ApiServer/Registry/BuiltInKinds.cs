using AkkaKube.Actors.ApiServer.Registry.Apps;
using AkkaKube.Actors.ApiServer.Registry.Coordination;
using AkkaKube.Actors.ApiServer.Registry.Core;
using AkkaKube.Actors.ApiServer.Registry.Discovery;
using AkkaKube.Actors.ApiServer.Registry.Policy;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.ApiServer.Registry;

/// <summary>
/// The built-in kinds: one line per resource, in discovery order (core first, then the groups as
/// Kubernetes lists them). Adding a kind = its strategy (or none, for no special rules) + one line here.
/// </summary>
public static class BuiltInKinds
{
    public static ApiRegistry RegisterAll(ApiRegistry registry) => registry
        .Register(ApiResource.Namespaces, new NamespaceStrategy())
        .Register(ApiResource.Nodes, new NodeStrategy())
        .Register(ApiResource.Pods, new PodStrategy())
        .Register(ApiResource.Services, new ServiceStrategy())
        .Register(ApiResource.Endpoints, new EndpointsStrategy())
        .Register(ApiResource.ConfigMaps, new ConfigMapStrategy())
        .Register(ApiResource.Secrets, new SecretStrategy())
        .Register(ApiResource.Events, new EventStrategy())
        .Register(ApiResource.Leases, new LeaseStrategy())
        .Register(ApiResource.Deployments, new DeploymentStrategy())
        .Register(ApiResource.ReplicaSets, new ReplicaSetStrategy())
        .Register(ApiResource.EndpointSlices, new EndpointSliceStrategy())
        .Register(ApiResource.PodDisruptionBudgets, new PodDisruptionBudgetStrategy());
}
