namespace AkkaKube.Actors.Security;

/// <summary>
/// Who makes an API call, as Kubernetes' user.Info: the user name, its groups and a uid. Over HTTP it comes from
/// authentication (client certificate, bearer token, anonymous); in the cluster it travels on every
/// <see cref="ApiServer.ApiServerProtocol.ApiRequest"/>, so the same authorization can apply to both paths.
/// </summary>
public sealed record UserInfo(string Name, IReadOnlyList<string> Groups, string Uid = "")
{
    public const string AuthenticatedGroup = "system:authenticated";
    public const string UnauthenticatedGroup = "system:unauthenticated";
    public const string MastersGroup = "system:masters";
    public const string NodesGroup = "system:nodes";

    /// <summary>The cluster administrator of the kubeconfig `up` writes (a client certificate: CN akkakube-admin, O system:masters).</summary>
    public const string AdminName = "akkakube-admin";

    public static readonly UserInfo Anonymous = new("system:anonymous", [UnauthenticatedGroup]);

    /// <summary>Every caller of a plain-HTTP apiserver (--insecure-http) without a token file: no credential can be checked.</summary>
    public static readonly UserInfo Unsecured = new("system:unsecured", [MastersGroup, AuthenticatedGroup]);

    /// <summary>In-cluster components that do not name themselves yet (controllers, scheduler, bootstrap).</summary>
    public static readonly UserInfo InClusterComponent = new("system:akkakube:component", [MastersGroup, AuthenticatedGroup]);

    /// <summary>The groups of an authenticated user: its own plus system:authenticated, as Kubernetes adds it.</summary>
    public static IReadOnlyList<string> Authenticated(IEnumerable<string> groups) =>
        groups.Append(AuthenticatedGroup).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>A kubelet's identity: system:node:&lt;name&gt; in system:nodes.</summary>
    public static UserInfo Node(string nodeName) => new($"system:node:{nodeName}", Authenticated([NodesGroup]));

    public bool InGroup(string group) => Groups.Contains(group, StringComparer.Ordinal);

    public override string ToString() => $"{Name} [{string.Join(",", Groups)}]";
}
