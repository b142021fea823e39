namespace AkkaKube.Actors;

/// <summary>Role, actor and system names, in one place so every component and tool agrees.</summary>
public static class AkkaKubeNames
{
    public const string SystemName = "akkakube";

    /// <summary>Akka remoting address schemes: plain TCP, or mutual TLS with --remoting-tls.</summary>
    public static class Remoting
    {
        public const string TlsScheme = "akka.ssl.tcp";
        public const string PlainScheme = "akka.tcp";

        public static string Scheme(bool tls) => tls ? TlsScheme : PlainScheme;

        /// <summary>The address of the node process listening on <paramref name="host"/>:<paramref name="port"/>.</summary>
        public static string NodeAddress(string host, int port, bool tls) => $"{Scheme(tls)}://{SystemName}@{host}:{port}";

        /// <summary>
        /// <paramref name="address"/> with the scheme of this node's transport: a seed written akka.tcp:// (as most Akka
        /// docs write it) names the same node as akka.ssl.tcp://, and Akka only joins addresses of its own scheme.
        /// </summary>
        public static string WithScheme(string address, bool tls)
        {
            foreach (var scheme in new[] { TlsScheme, PlainScheme })
                if (address.StartsWith(scheme + "://", StringComparison.Ordinal))
                    return Scheme(tls) + address[scheme.Length..];
            return address;
        }
    }

    public static class Roles
    {
        public const string ControlPlane = "control-plane";
        public const string Worker = "worker";
        public const string ZonePrefix = "zone:";
        public const string RegionPrefix = "region:";

        public static string Zone(string zone) => ZonePrefix + zone;
        public static string Region(string region) => RegionPrefix + region;

        public static string? ZoneOf(IEnumerable<string> roles) =>
            roles.FirstOrDefault(r => r.StartsWith(ZonePrefix, StringComparison.Ordinal))?[ZonePrefix.Length..];

        public static string? RegionOf(IEnumerable<string> roles) =>
            roles.FirstOrDefault(r => r.StartsWith(RegionPrefix, StringComparison.Ordinal))?[RegionPrefix.Length..];
    }

    /// <summary>Top-level actor names (children of /user), lower-case component names as in DESIGN.md.</summary>
    public static class Actors
    {
        public const string Store = "store";
        public const string ApiServer = "apiserver";
        /// <summary>The RBAC authorizer's informer cache on control-plane nodes.</summary>
        public const string RbacCache = "rbac-authorizer";
        /// <summary>The apiservers' namespaces informer cache (NamespaceLifecycle) on control-plane nodes.</summary>
        public const string NamespaceCache = "namespace-lister";

        /// <summary>The Node authorizer's graph of pods and what they reference (control-plane nodes).</summary>
        public const string NodeGraph = "node-authorizer";
        public const string Scheduler = "scheduler";
        public const string ControllerManager = "controller-manager";
        public const string CloudControllerManager = "cloud-controller-manager";
        public const string Kubelet = "kubelet";
        public const string Proxy = "proxy";
        /// <summary>The node's NetworkPolicy agent (worker nodes; src/Actors/Netpol).</summary>
        public const string Netpol = "netpol";
        /// <summary>The node-local cluster DNS server (worker nodes; src/Actors/Dns).</summary>
        public const string Dns = "dns";
        /// <summary>Routes to the other nodes' pod ranges (nodes started with --pod-routes; src/Actors/PodNetwork).</summary>
        public const string PodRoutes = "pod-routes";
        /// <summary>Keeps kube-system/kube-dns and its endpoints (control-plane nodes).</summary>
        public const string KubeDnsService = "kube-dns-service";
        public const string CmdHost = "cmd";
        public const string NodeInfo = "node-info";
        public const string RefusedMemberDowning = "refused-member-downing";
        /// <summary>Answers the web view's questions about this node: placement, actor tree, failures (every node).</summary>
        public const string NodeInspector = "node-inspector";

        /// <summary>Children of a kubelet, one per concern (/user/kubelet/&lt;name&gt;).</summary>
        public static class KubeletChildren
        {
            /// <summary>Registers the Node and reports its status.</summary>
            public const string Node = "node";
            public const string Lease = "lease";
            /// <summary>The pod manager: subscribed to the shared informer of the node's pods; one pod worker per pod (pod-&lt;uid&gt;).</summary>
            public const string Pods = "pods";
            /// <summary>Resource usage of the node and its containers.</summary>
            public const string Stats = "stats";
            public const string Events = "events";
            /// <summary>Removes the directories of this node's deleted provisioned volumes (Kubelet/VolumeCleaner).</summary>
            public const string Volumes = "volumes";
            public const string PodWorkerPrefix = "pod-";

            /// <summary>Path of the pod worker of <paramref name="podUid"/> under the kubelet at <paramref name="kubeletPath"/>.</summary>
            public static string PodWorkerPath(string kubeletPath, string podUid) => $"{kubeletPath}/{Pods}/{PodWorkerPrefix}{podUid}";
        }
    }

    /// <summary>Kubernetes label keys the cluster relies on.</summary>
    public static class Labels
    {
        public const string Hostname = "kubernetes.io/hostname";
        public const string Zone = "topology.kubernetes.io/zone";
        public const string Region = "topology.kubernetes.io/region";
    }

    /// <summary>The kube-system leader Leases of the singleton components (Kubernetes' names).</summary>
    public static class Leases
    {
        public const string Scheduler = "kube-scheduler";
        public const string ControllerManager = "kube-controller-manager";
    }
}
