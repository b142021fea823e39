using AkkaKube.Actors.Machinery;
namespace AkkaKube.Actors.ApiServer;

/// <summary>
/// Actor-registry key of the cluster-aware router to the `apiserver` actors on control-plane nodes;
/// every node has one, and in-cluster components send <see cref="ApiServerProtocol.ApiRequest"/> through it.
/// </summary>
public sealed class ApiServerRouter;
