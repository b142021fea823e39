using AkkaKube.Actors.ApiServer.Registry.Apps;
using AkkaKube.Actors.ApiServer.Registry.Authorization;
using AkkaKube.Actors.ApiServer.Registry.Autoscaling;
using AkkaKube.Actors.ApiServer.Registry.Batch;
using AkkaKube.Actors.ApiServer.Registry.Coordination;
using AkkaKube.Actors.ApiServer.Registry.Core;
using AkkaKube.Actors.ApiServer.Registry.Discovery;
using AkkaKube.Actors.ApiServer.Registry.Networking;
using AkkaKube.Actors.ApiServer.Registry.Policy;
using AkkaKube.Actors.ApiServer.Registry.Rbac;
using AkkaKube.Actors.ApiServer.Registry.Scheduling;
using AkkaKube.Actors.ApiServer.Registry.Storage;
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
        .Register(ApiResource.ServiceAccounts, new ServiceAccountStrategy())
        .Register(ApiResource.ResourceQuotas, new ResourceQuotaStrategy())
        .Register(ApiResource.LimitRanges, new LimitRangeStrategy())
        .Register(ApiResource.PersistentVolumeClaims, new PersistentVolumeClaimStrategy())
        .Register(ApiResource.PersistentVolumes, new PersistentVolumeStrategy())
        .Register(ApiResource.PodTemplates, new PodTemplateStrategy())
        .Register(ApiResource.ReplicationControllers, new ReplicationControllerStrategy())
        .Register(ApiResource.Leases, new LeaseStrategy())
        .Register(ApiResource.Deployments, new DeploymentStrategy())
        .Register(ApiResource.ReplicaSets, new ReplicaSetStrategy())
        .Register(ApiResource.StatefulSets, new StatefulSetStrategy())
        .Register(ApiResource.DaemonSets, new DaemonSetStrategy())
        .Register(ApiResource.ControllerRevisions, new ControllerRevisionStrategy())
        .Register(ApiResource.Jobs, new JobStrategy())
        .Register(ApiResource.CronJobs, new CronJobStrategy())
        .Register(ApiResource.HorizontalPodAutoscalers, new HorizontalPodAutoscalerStrategy())
        .Register(ApiResource.HorizontalPodAutoscalersV1, new HorizontalPodAutoscalerV1Strategy())
        .Register(ApiResource.EndpointSlices, new EndpointSliceStrategy())
        .Register(ApiResource.PodDisruptionBudgets, new PodDisruptionBudgetStrategy())
        .Register(ApiResource.SelfSubjectReviews, new SelfSubjectReviewStrategy())
        .Register(ApiResource.LocalSubjectAccessReviews, new SubjectAccessReviewStrategy(local: true))
        .Register(ApiResource.SelfSubjectAccessReviews, new SelfSubjectAccessReviewStrategy())
        .Register(ApiResource.SelfSubjectRulesReviews, new SelfSubjectRulesReviewStrategy())
        .Register(ApiResource.SubjectAccessReviews, new SubjectAccessReviewStrategy(local: false))
        .Register(ApiResource.Roles, new RoleStrategy(cluster: false))
        .Register(ApiResource.ClusterRoles, new RoleStrategy(cluster: true))
        .Register(ApiResource.RoleBindings, new RoleBindingStrategy(cluster: false))
        .Register(ApiResource.ClusterRoleBindings, new RoleBindingStrategy(cluster: true))
        .Register(ApiResource.Ingresses, new IngressStrategy())
        .Register(ApiResource.IngressClasses, new IngressClassStrategy())
        .Register(ApiResource.NetworkPolicies, new NetworkPolicyStrategy())
        .Register(ApiResource.StorageClasses, new StorageClassStrategy())
        .Register(ApiResource.CsiDrivers, new CsiDriverStrategy())
        .Register(ApiResource.VolumeAttachments, new VolumeAttachmentStrategy())
        .Register(ApiResource.CsiNodes, new CsiNodeStrategy())
        .Register(ApiResource.CsiStorageCapacities, new CsiStorageCapacityStrategy())
        .Register(ApiResource.PriorityClasses, new PriorityClassStrategy())
        .Register(ApiResource.EventsV1, new Events.EventStrategy())
        .Register(ApiResource.RuntimeClasses, new Node.RuntimeClassStrategy())
        .Register(ApiResource.MutatingWebhookConfigurations, new AdmissionRegistration.WebhookConfigurationStrategy(mutating: true))
        .Register(ApiResource.ValidatingWebhookConfigurations, new AdmissionRegistration.WebhookConfigurationStrategy(mutating: false))
        .Register(CustomResources.CustomResourceDefinitionSpec.Resource, new ApiExtensions.CustomResourceDefinitionStrategy());
}
