using System.Text;
using System.Text.Json.Nodes;
using AkkaKube.Actors.Client;
using k8s.Models;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Kubelet;

/// <summary>A referenced ConfigMap/Secret/key is missing: the container waits with CreateContainerConfigError.</summary>
public sealed class EnvResolutionException(string message) : Exception(message);

/// <summary>Resolves a container's environment as the kubelet does: envFrom first, then env (later wins).</summary>
public static class EnvResolver
{
    public static async Task<List<KeyValuePair<string, string>>> ResolveAsync(
        IKubeApi api, V1Pod pod, V1Container container, string podIp, string hostIp, CancellationToken ct = default)
    {
        var ns = pod.Metadata?.NamespaceProperty ?? "default";
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var order = new List<string>();
        var configMaps = new Dictionary<string, JsonObject?>(StringComparer.Ordinal);
        var secrets = new Dictionary<string, JsonObject?>(StringComparer.Ordinal);

        void Set(string k, string v)
        {
            if (!result.ContainsKey(k)) order.Add(k);
            result[k] = v;
        }

        async Task<JsonObject?> Get(ApiResource resource, Dictionary<string, JsonObject?> cache, string name)
        {
            if (cache.TryGetValue(name, out var o)) return o;
            try { o = await api.GetAsync(resource, ns, name, ct: ct); }
            catch (KubeApiException e) when (e.IsNotFound) { o = null; }
            cache[name] = o;
            return o;
        }

        static IEnumerable<KeyValuePair<string, string>> Data(JsonObject obj, bool secret)
        {
            if (obj["data"] is JsonObject data)
                foreach (var (k, v) in data)
                {
                    var s = v?.GetValue<string>() ?? "";
                    yield return new(k, secret ? Decode(s) : s);
                }
            if (obj[secret ? "stringData" : "binaryData"] is JsonObject extra && secret)
                foreach (var (k, v) in extra)
                    yield return new(k, v?.GetValue<string>() ?? "");
        }

        // Service links first (Kubernetes: <NAME>_SERVICE_HOST…), so the container's own env overrides
        // them and $(VAR) references in it can use them.
        foreach (var (k, v) in await ServiceLinksAsync(api, pod, ns, ct)) Set(k, v);

        foreach (var from in container.EnvFrom ?? [])
        {
            var prefix = from.Prefix ?? "";
            if (from.ConfigMapRef is { } cmRef)
            {
                var cm = await Get(ApiResource.ConfigMaps, configMaps, cmRef.Name);
                if (cm is null)
                {
                    if (cmRef.Optional == true) continue;
                    throw new EnvResolutionException($"configmap \"{cmRef.Name}\" not found");
                }
                foreach (var (k, v) in Data(cm, secret: false)) Set(prefix + k, v);
            }
            if (from.SecretRef is { } sRef)
            {
                var secret = await Get(ApiResource.Secrets, secrets, sRef.Name);
                if (secret is null)
                {
                    if (sRef.Optional == true) continue;
                    throw new EnvResolutionException($"secret \"{sRef.Name}\" not found");
                }
                foreach (var (k, v) in Data(secret, secret: true)) Set(prefix + k, v);
            }
        }

        foreach (var env in container.Env ?? [])
        {
            if (env.ValueFrom is null)
            {
                Set(env.Name, Expand(env.Value ?? "", result));
                continue;
            }
            var vf = env.ValueFrom;
            if (vf.FieldRef is { } field)
            {
                Set(env.Name, field.FieldPath switch
                {
                    "metadata.name" => pod.Metadata?.Name ?? "",
                    "metadata.namespace" => ns,
                    "metadata.uid" => pod.Metadata?.Uid ?? "",
                    "spec.nodeName" => pod.Spec?.NodeName ?? "",
                    "spec.serviceAccountName" => pod.Spec?.ServiceAccountName ?? "default",
                    "status.podIP" => podIp,
                    "status.podIPs" => podIp,
                    "status.hostIP" => hostIp,
                    "status.hostIPs" => hostIp,
                    var p when p.StartsWith("metadata.labels['", StringComparison.Ordinal) && p.EndsWith("']", StringComparison.Ordinal) =>
                        pod.Metadata?.Labels?.TryGetValue(p[17..^2], out var l) == true ? l : "",
                    var p when p.StartsWith("metadata.annotations['", StringComparison.Ordinal) && p.EndsWith("']", StringComparison.Ordinal) =>
                        pod.Metadata?.Annotations?.TryGetValue(p[22..^2], out var a) == true ? a : "",
                    var p => throw new EnvResolutionException($"unsupported fieldRef \"{p}\" in env \"{env.Name}\""),
                });
            }
            else if (vf.ConfigMapKeyRef is { } cmKey)
            {
                var cm = await Get(ApiResource.ConfigMaps, configMaps, cmKey.Name);
                var value = cm?["data"]?[cmKey.Key]?.GetValue<string>();
                if (value is null)
                {
                    if (cmKey.Optional == true) continue;
                    throw new EnvResolutionException(cm is null
                        ? $"configmap \"{cmKey.Name}\" not found"
                        : $"couldn't find key {cmKey.Key} in ConfigMap {ns}/{cmKey.Name}");
                }
                Set(env.Name, value);
            }
            else if (vf.SecretKeyRef is { } sKey)
            {
                var secret = await Get(ApiResource.Secrets, secrets, sKey.Name);
                var raw = secret?["data"]?[sKey.Key]?.GetValue<string>();
                var value = raw is not null ? Decode(raw) : secret?["stringData"]?[sKey.Key]?.GetValue<string>();
                if (value is null)
                {
                    if (sKey.Optional == true) continue;
                    throw new EnvResolutionException(secret is null
                        ? $"secret \"{sKey.Name}\" not found"
                        : $"couldn't find key {sKey.Key} in Secret {ns}/{sKey.Name}");
                }
                Set(env.Name, value);
            }
            else if (vf.ResourceFieldRef is { } rf)
            {
                Set(env.Name, rf.Resource is "limits.cpu" or "requests.cpu" ? Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture) : "0");
            }
        }
        return order.Select(k => new KeyValuePair<string, string>(k, result[k])).ToList();
    }

    private static async Task<IReadOnlyList<KeyValuePair<string, string>>> ServiceLinksAsync(IKubeApi api, V1Pod pod, string ns, CancellationToken ct)
    {
        var links = pod.Spec?.EnableServiceLinks ?? true;
        var services = new List<JsonObject>();
        if (links) services.AddRange((await api.ListAsync(ApiResource.Services, ns, null, ct)).Items);
        if (ns != "default" || !links)
        {
            // The `kubernetes` service is always linked.
            try { services.Add(await api.GetAsync(ApiResource.Services, "default", "kubernetes", ct: ct)); }
            catch (KubeApiException e) when (e.IsNotFound) { }
        }
        return AkkaKube.Actors.Services.ServiceEnv.For(ns, links, services);
    }

    private static string Decode(string base64)
    {
        try { return Encoding.UTF8.GetString(Convert.FromBase64String(base64)); }
        catch (FormatException) { return base64; }
    }

    /// <summary>
    /// Expands $(VAR) in a container's command or args against its resolved environment, as the kubelet does
    /// for both (an unknown reference stays literal; $$ is an escaped $).
    /// </summary>
    public static List<string> ExpandAll(IEnumerable<string>? values, IReadOnlyList<KeyValuePair<string, string>> env)
    {
        if (values is null) return [];
        var vars = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in env) vars[k] = v;
        return values.Select(v => Expand(v, vars)).ToList();
    }

    /// <summary>
    /// $(VAR) references as Kubernetes' third_party/forked/golang/expansion expands them: $$ is a literal $,
    /// a reference to an unknown name or an unclosed $( stays as written.
    /// </summary>
    public static string Expand(string value, IReadOnlyDictionary<string, string> vars)
    {
        if (!value.Contains('$')) return value;
        var sb = new StringBuilder(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] != '$' || i + 1 == value.Length)
            {
                sb.Append(value[i]);
                continue;
            }
            var next = value[i + 1];
            if (next == '$')
            {
                sb.Append('$');
                i++;
            }
            else if (next == '(' && value.IndexOf(')', i + 2) is var close and > 0)
            {
                var name = value[(i + 2)..close];
                sb.Append(vars.TryGetValue(name, out var v) ? v : value[i..(close + 1)]);
                i = close;
            }
            else
            {
                // A $ that starts no reference (or an unclosed "$("): both characters stay.
                sb.Append('$').Append(next);
                i++;
            }
        }
        return sb.ToString();
    }
}
