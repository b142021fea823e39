using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.Security.Rbac;
using static AkkaKube.Actors.Machinery.ApiServerProtocol;

namespace AkkaKube.Actors.ApiServer;

/// <summary>
/// The apiserver's rbac/bootstrap-roles post-start step (as Kubernetes' storage_rbac.go): creates the bootstrap
/// ClusterRoles and ClusterRoleBindings of <see cref="BootstrapPolicy"/> that are missing and reconciles the ones
/// that are there. Idempotent; every control-plane node runs it at start (conflicts mean another node did it).
/// </summary>
internal static class RbacBootstrap
{
    private static readonly Dictionary<string, string> NoQuery = new();

    /// <summary>The objects not in place yet (retried by the caller).</summary>
    public static async Task<List<string>> EnsureAsync(ApiPipeline pipeline)
    {
        var missing = new List<string>();
        foreach (var role in BootstrapPolicy.ClusterRoles)
            if (!await EnsureOneAsync(pipeline, "clusterroles", role.Name, BootstrapPolicy.ToJson(role), "rules")) missing.Add("clusterrole/" + role.Name);
        foreach (var binding in BootstrapPolicy.ClusterRoleBindings)
            if (!await EnsureOneAsync(pipeline, "clusterrolebindings", binding.Name, BootstrapPolicy.ToJson(binding), "subjects")) missing.Add("clusterrolebinding/" + binding.Name);
        return missing;
    }

    private static async Task<bool> EnsureOneAsync(ApiPipeline pipeline, string resource, string name, JsonObject wanted, string listField)
    {
        const string group = "rbac.authorization.k8s.io";
        var get = await pipeline.HandleAsync(new ApiRequest("get", group, "v1", resource, null, name, null, NoQuery, null, null));
        if (get.Code == 404)
        {
            var created = await pipeline.HandleAsync(new ApiRequest("create", group, "v1", resource, null, null, null, NoQuery, "application/json", wanted.ToJsonString()));
            return created.Code is 201 or 409;
        }
        if (get.Code != 200 || JsonNode.Parse(get.Body) is not JsonObject existing) return false;
        if (BootstrapPolicy.Reconcile(existing, wanted, listField) is not { } updated) return true;
        var put = await pipeline.HandleAsync(new ApiRequest("update", group, "v1", resource, null, name, null, NoQuery, "application/json", updated.ToJsonString()));
        return put.Code is 200 or 409;
    }
}
