using AkkaKube.Actors.Runtime;
using k8s.Models;

namespace AkkaKube.Actors.Kubelet;

/// <summary>
/// A container's effective security settings, as the Kubernetes kubelet determines them: runAsUser, runAsGroup and
/// runAsNonRoot from the container's securityContext, else the pod's; supplementalGroups and fsGroup from the pod
/// (fsGroup joins the supplemental groups); privileged, readOnlyRootFilesystem, capabilities and
/// allowPrivilegeEscalation from the container only.
/// </summary>
public static class SecurityContexts
{
    /// <summary>
    /// The container's settings; null when neither the pod nor the container sets any (the runtime's defaults). A
    /// contradiction throws (the pod worker reports it as CreateContainerConfigError, as the kubelet does).
    /// </summary>
    public static ContainerSecurity? Effective(V1PodSecurityContext? pod, V1SecurityContext? container)
    {
        if (pod is null && container is null) return null;
        var groups = (pod?.SupplementalGroups ?? []).OfType<long>().ToList();
        if (pod?.FsGroup is { } fsGroup && !groups.Contains(fsGroup)) groups.Add(fsGroup);
        var security = new ContainerSecurity
        {
            RunAsUser = container?.RunAsUser ?? pod?.RunAsUser,
            RunAsGroup = container?.RunAsGroup ?? pod?.RunAsGroup,
            ReadOnlyRootFilesystem = container?.ReadOnlyRootFilesystem == true,
            Privileged = container?.Privileged == true,
            NoNewPrivileges = container?.AllowPrivilegeEscalation == false,
            AddCapabilities = container?.Capabilities?.Add?.ToList() ?? [],
            DropCapabilities = container?.Capabilities?.Drop?.ToList() ?? [],
            SupplementalGroups = groups,
            RunAsNonRoot = (container?.RunAsNonRoot ?? pod?.RunAsNonRoot) == true,
            SeccompProfile = container?.SeccompProfile?.Type ?? pod?.SeccompProfile?.Type,
        };
        var runAsNonRoot = container?.RunAsNonRoot ?? pod?.RunAsNonRoot;
        // The kubelet refuses a container that must not run as root but is told to; the user it would otherwise run as (the
        // image's on cri, the node's on process) is the runtime's check (SecurityChecks.RunAsNonRootViolation).
        if (runAsNonRoot == true && security.RunAsUser == 0)
            throw new InvalidOperationException("container's runAsUser breaks non-root policy (runAsNonRoot is true and runAsUser is 0)");
        if (security.Privileged && container?.AllowPrivilegeEscalation == false)
            throw new InvalidOperationException("cannot set allowPrivilegeEscalation to false and privileged to true");
        return security;
    }
}
