using AkkaKube.Actors.Kubelet;
using AkkaKube.Actors.Runtime;
using AkkaKube.Actors.Runtime.Cri;
using AkkaKube.Actors.Runtime.Cri.V1;
using k8s.Models;

namespace AkkaKube.Tests.Kubelet;

/// <summary>The effective securityContext (pod defaults, container overrides) and its CRI form, as the kubelet computes them.</summary>
public sealed class SecurityContextsTests
{
    [Fact]
    public void No_security_context_leaves_the_runtime_defaults() =>
        Assert.Null(SecurityContexts.Effective(null, null));

    [Fact]
    public void The_container_overrides_the_pods_user_and_group_and_the_pod_gives_supplemental_groups_and_fsGroup()
    {
        var pod = new V1PodSecurityContext { RunAsUser = 1000, RunAsGroup = 1000, SupplementalGroups = [5, 6], FsGroup = 7 };
        var effective = SecurityContexts.Effective(pod, new V1SecurityContext { RunAsUser = 2000, ReadOnlyRootFilesystem = true, AllowPrivilegeEscalation = false })!;
        Assert.Equal(2000, effective.RunAsUser);
        Assert.Equal(1000, effective.RunAsGroup);
        Assert.Equal([5L, 6L, 7L], effective.SupplementalGroups);
        Assert.True(effective.ReadOnlyRootFilesystem);
        Assert.True(effective.NoNewPrivileges);
        Assert.False(effective.Privileged);
    }

    [Fact]
    public void Contradictions_are_refused_as_the_kubelet_refuses_them()
    {
        Assert.Contains("non-root", Assert.Throws<InvalidOperationException>(() =>
            SecurityContexts.Effective(new V1PodSecurityContext { RunAsNonRoot = true }, new V1SecurityContext { RunAsUser = 0 })).Message);
        Assert.Throws<InvalidOperationException>(() =>
            SecurityContexts.Effective(null, new V1SecurityContext { Privileged = true, AllowPrivilegeEscalation = false }));
    }

    [Fact]
    public void The_cri_form_carries_user_group_capabilities_and_a_group_without_user_takes_the_images_user()
    {
        var sc = CriRuntime.SecurityContext(new ContainerSecurity
        {
            RunAsUser = 1234, RunAsGroup = 2345, ReadOnlyRootFilesystem = true, AddCapabilities = ["NET_ADMIN"], DropCapabilities = ["ALL"], SupplementalGroups = [3456],
        }, new Image { Id = "sha256:x" })!;
        Assert.Equal(1234, sc.RunAsUser.Value);
        Assert.Equal(2345, sc.RunAsGroup.Value);
        Assert.True(sc.ReadonlyRootfs);
        Assert.Equal(["NET_ADMIN"], sc.Capabilities.AddCapabilities);
        Assert.Equal(["ALL"], sc.Capabilities.DropCapabilities);
        Assert.Equal([3456L], sc.SupplementalGroups);

        var groupOnly = CriRuntime.SecurityContext(new ContainerSecurity { RunAsGroup = 50 }, new Image { Id = "sha256:x", Uid = new Int64Value { Value = 65534 } })!;
        Assert.Equal(65534, groupOnly.RunAsUser.Value);
        Assert.Null(groupOnly.Capabilities);
    }
}
