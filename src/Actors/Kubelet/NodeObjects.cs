using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;

namespace AkkaKube.Actors.Kubelet;

/// <summary>What a kubelet registers about its node: identity, capacity, addresses, pod CIDR.</summary>
public sealed record NodeIdentity
{
    public required string NodeName { get; init; }
    public required string NodeIp { get; init; }
    public required string PodCidr { get; init; }
    public required string Zone { get; init; }
    public required string Region { get; init; }
    public bool ControlPlane { get; init; }
    public bool Hollow { get; init; }
    /// <summary>The node's Akka address (akka.tcp://akkakube@host:port; akka.ssl.tcp:// with --remoting-tls).</summary>
    public required string AkkaAddress { get; init; }
    /// <summary>Path of this kubelet actor (/user/kubelet, or a hollow kubelet's path).</summary>
    public required string KubeletPath { get; init; }
    public required string Cpu { get; init; }
    public required string Memory { get; init; }
    public int Pods { get; init; } = 110;
    public string RuntimeName { get; init; } = "process";
    /// <summary>The mode of this node's kube-proxy (userspace, nftables) and, when nftables was asked for but is unavailable, why (annotations; null: not shown).</summary>
    public string? ProxyMode { get; init; }
    public string? ProxyModeUnavailable { get; init; }
    /// <summary>Where this kubelet keeps provisioned volumes (published as a Node annotation for the provisioner); null: none.</summary>
    public string? VolumesDirectory { get; init; }
    /// <summary>"ip:port" of this node's cluster DNS server (published for the kube-dns Service's endpoints); null: none.</summary>
    public string? DnsEndpoint { get; init; }
}

/// <summary>Builds the Node and Lease objects (pure; the kubelet actor writes them).</summary>
public static class NodeObjects
{
    public const string KubeletVersion = "v1.32.0-akkakube";
    public const string AkkaAddressAnnotation = "akkakube.io/akka-address";
    public const string KubeletPathAnnotation = "akkakube.io/kubelet-path";
    public const string HollowLabel = "akkakube.io/hollow";
    public const string LeaseNamespace = "kube-node-lease";

    public static string MachineCpu() => Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture);

    public static string MachineMemory()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
                if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                    return line["MemTotal:".Length..].Replace("kB", "", StringComparison.Ordinal).Trim() + "Ki";
        }
        catch (IOException) { }
        return (GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 1024).ToString(CultureInfo.InvariantCulture) + "Ki";
    }

    public static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
    public static string MicroTime(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    public static JsonObject Labels(NodeIdentity n)
    {
        var labels = new JsonObject
        {
            [AkkaKubeNames.Labels.Hostname] = n.NodeName,
            [AkkaKubeNames.Labels.Zone] = n.Zone,
            [AkkaKubeNames.Labels.Region] = n.Region,
            ["kubernetes.io/os"] = "linux",
            ["kubernetes.io/arch"] = Arch(),
            ["node-role.kubernetes.io/worker"] = "",
        };
        if (n.ControlPlane) labels["node-role.kubernetes.io/control-plane"] = "";
        if (n.Hollow) labels[HollowLabel] = "true";
        return labels;
    }

    public static JsonObject Annotations(NodeIdentity n)
    {
        var annotations = new JsonObject
        {
            [AkkaAddressAnnotation] = n.AkkaAddress,
            [KubeletPathAnnotation] = n.KubeletPath,
        };
        if (n.VolumesDirectory is { } dir) annotations[Controllers.Volume.VolumeLogic.VolumesDirAnnotation] = dir;
        if (n.DnsEndpoint is { } dns) annotations[Dns.KubeDnsServiceReconciler.EndpointAnnotation] = dns;
        if (n.ProxyMode is { } mode) annotations[Proxy.ProxyModes.ModeAnnotation] = mode;
        if (n.ProxyModeUnavailable is { } why) annotations[Proxy.ProxyModes.UnavailableAnnotation] = why;
        return annotations;
    }

    private static string Arch() => RuntimeInformation.OSArchitecture switch
    {
        Architecture.Arm64 => "arm64",
        _ => "amd64",
    };

    public static JsonObject Node(NodeIdentity n, DateTimeOffset now) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Node",
        ["metadata"] = new JsonObject
        {
            ["name"] = n.NodeName,
            ["labels"] = Labels(n),
            ["annotations"] = Annotations(n),
        },
        ["spec"] = new JsonObject
        {
            ["podCIDR"] = n.PodCidr,
            ["podCIDRs"] = new JsonArray(n.PodCidr),
        },
        ["status"] = Status(n, now, now),
    };

    public static JsonObject Status(NodeIdentity n, DateTimeOffset heartbeat, DateTimeOffset transition)
    {
        JsonObject Resources() => new()
        {
            ["cpu"] = n.Cpu,
            ["memory"] = n.Memory,
            ["pods"] = n.Pods.ToString(CultureInfo.InvariantCulture),
            ["ephemeral-storage"] = "100Gi",
        };
        JsonObject Condition(string type, string status, string reason, string message) => new()
        {
            ["type"] = type,
            ["status"] = status,
            ["lastHeartbeatTime"] = Time(heartbeat),
            ["lastTransitionTime"] = Time(transition),
            ["reason"] = reason,
            ["message"] = message,
        };
        return new JsonObject
        {
            ["capacity"] = Resources(),
            ["allocatable"] = Resources(),
            ["conditions"] = new JsonArray(
                Condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                Condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                Condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                Condition("Ready", "True", "KubeletReady", "kubelet is posting ready status")),
            ["addresses"] = new JsonArray(
                new JsonObject { ["type"] = "InternalIP", ["address"] = n.NodeIp },
                new JsonObject { ["type"] = "Hostname", ["address"] = n.NodeName }),
            ["daemonEndpoints"] = new JsonObject { ["kubeletEndpoint"] = new JsonObject { ["Port"] = 0 } },
            ["nodeInfo"] = new JsonObject
            {
                ["machineID"] = n.NodeName,
                ["systemUUID"] = n.NodeName,
                ["bootID"] = n.NodeName,
                ["kernelVersion"] = Environment.OSVersion.Version.ToString(),
                ["osImage"] = RuntimeInformation.OSDescription,
                ["containerRuntimeVersion"] = $"akkakube-{n.RuntimeName}://1.0.0",
                ["kubeletVersion"] = KubeletVersion,
                ["kubeProxyVersion"] = KubeletVersion,
                ["operatingSystem"] = "linux",
                ["architecture"] = Arch(),
            },
        };
    }

    public static JsonObject Lease(string nodeName, string? nodeUid, int durationSeconds, DateTimeOffset now)
    {
        var meta = new JsonObject { ["name"] = nodeName, ["namespace"] = LeaseNamespace };
        if (nodeUid is not null)
            meta["ownerReferences"] = new JsonArray(new JsonObject
            {
                ["apiVersion"] = "v1", ["kind"] = "Node", ["name"] = nodeName, ["uid"] = nodeUid,
            });
        return new JsonObject
        {
            ["apiVersion"] = "coordination.k8s.io/v1",
            ["kind"] = "Lease",
            ["metadata"] = meta,
            ["spec"] = new JsonObject
            {
                ["holderIdentity"] = nodeName,
                ["leaseDurationSeconds"] = durationSeconds,
                ["renewTime"] = MicroTime(now),
            },
        };
    }
}
