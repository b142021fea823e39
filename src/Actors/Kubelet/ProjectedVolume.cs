using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.Security;
using k8s.Models;

namespace AkkaKube.Actors.Kubelet;

/// <summary>
/// The kubelet's projected volumes (Kubernetes' projected volume plugin with its token manager): each source's files are
/// written into the volume's directory — serviceAccountToken through the TokenRequest API (a token bound to this pod,
/// for the source's audience or the API's, for expirationSeconds), configMap and secret keys read from the API,
/// downwardAPI fields of the pod. Every file is replaced atomically (temp file + rename); a token file is 0600, the
/// others take the item's mode or the volume's defaultMode (0644). The result says when the earliest token reaches 80%
/// of its lifetime, when the kubelet writes the volume again with fresh tokens.
/// </summary>
public static class ProjectedVolume
{
    /// <summary>The directory of a pod's projected volume, removed with the pod's other volumes.</summary>
    public static string Directory(string dataDir, string podUid, string volume, string plugin = "kubernetes.io~projected") =>
        Path.Combine(VolumeManager.PodVolumesDirectory(dataDir, podUid), plugin, volume);

    /// <summary>Writes every source of <paramref name="source"/> into <paramref name="dir"/>; returns when to refresh (null: no token).</summary>
    public static async Task<DateTimeOffset?> WriteAsync(IKubeApi api, V1Pod pod, V1ProjectedVolumeSource source, string dir, CancellationToken ct = default)
    {
        var ns = pod.Metadata?.NamespaceProperty ?? "default";
        var defaultMode = (UnixFileMode)(source.DefaultMode ?? 420);
        var files = new List<(string Path, byte[] Content, UnixFileMode Mode)>();
        DateTimeOffset? refresh = null;
        foreach (var s in source.Sources ?? [])
        {
            if (s.ServiceAccountToken is { } t)
            {
                // The volume is written again every ApiObjectRefresh for its ConfigMap data: the token already there is kept
                // until 80% of its lifetime (read back from its own iat/exp claims), not requested anew each time.
                var (token, issued, expires) = CurrentToken(Path.Combine(dir, t.Path)) is { } kept && DateTimeOffset.UtcNow < kept.Issued + (kept.Expires - kept.Issued) * 0.8
                    ? kept
                    : await RequestTokenAsync(api, pod, ns, t, ct).ConfigureAwait(false);
                var at = issued + (expires - issued) * 0.8;
                if (refresh is null || at < refresh) refresh = at;
                // owner only whatever defaultMode says: the token is the pod's credential
                files.Add((t.Path, Encoding.UTF8.GetBytes(token), defaultMode & (UnixFileMode.UserRead | UnixFileMode.UserWrite)));
            }
            else if (s.ConfigMap is { } cm)
                files.AddRange(Keys(await GetOptionalAsync(api, ApiResource.ConfigMaps, ns, cm.Name, cm.Optional == true, ct).ConfigureAwait(false),
                    secret: false, cm.Items, "configmap", cm.Name, cm.Optional == true, defaultMode));
            else if (s.Secret is { } sec)
                files.AddRange(Keys(await GetOptionalAsync(api, ApiResource.Secrets, ns, sec.Name, sec.Optional == true, ct).ConfigureAwait(false),
                    secret: true, sec.Items, "secret", sec.Name, sec.Optional == true, defaultMode));
            else if (s.DownwardAPI is { } down)
                foreach (var item in down.Items ?? [])
                    files.Add((item.Path, Encoding.UTF8.GetBytes(FieldOf(pod, item)), item.Mode is { } m ? (UnixFileMode)m : defaultMode));
        }
        foreach (var (relative, _, _) in files)
        {
            var path = Path.GetFullPath(Path.Combine(dir, relative));
            if (relative.StartsWith("..", StringComparison.Ordinal) || !path.StartsWith(Path.GetFullPath(dir) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                throw new VolumeNotReadyException($"projected file path \"{relative}\" leaves the volume");
        }
        AtomicVolumeWriter.Write(dir, files);
        // ConfigMaps, Secrets and the pod's own fields change: written again every ApiObjectRefresh (the kubelet's sync period).
        if (source.Sources?.Any(s => s.ConfigMap is not null || s.Secret is not null || s.DownwardAPI is not null) == true)
        {
            var again = DateTimeOffset.UtcNow + ApiObjectRefresh;
            if (refresh is null || again < refresh) refresh = again;
        }
        return refresh;
    }

    /// <summary>How often a volume of ConfigMap, Secret or downwardAPI data is written again (Kubernetes: the sync period, about a minute).</summary>
    public static readonly TimeSpan ApiObjectRefresh = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The projection a configMap, secret or downwardAPI volume amounts to (one source, its defaultMode), null for other
    /// kinds: they are written, refreshed and swapped exactly as a projected volume with that one source.
    /// </summary>
    public static V1ProjectedVolumeSource? AsProjection(V1Volume v) => v switch
    {
        { Projected: { } p } => p,
        { ConfigMap: { } cm } => new V1ProjectedVolumeSource
        {
            DefaultMode = cm.DefaultMode,
            Sources = [new V1VolumeProjection { ConfigMap = new V1ConfigMapProjection { Name = cm.Name, Items = cm.Items, Optional = cm.Optional } }],
        },
        { Secret: { } sec } => new V1ProjectedVolumeSource
        {
            DefaultMode = sec.DefaultMode,
            Sources = [new V1VolumeProjection { Secret = new V1SecretProjection { Name = sec.SecretName, Items = sec.Items, Optional = sec.Optional } }],
        },
        { DownwardAPI: { } down } => new V1ProjectedVolumeSource
        {
            DefaultMode = down.DefaultMode,
            Sources = [new V1VolumeProjection { DownwardAPI = new V1DownwardAPIProjection { Items = down.Items } }],
        },
        _ => null,
    };

    /// <summary>The plugin directory name Kubernetes uses for the volume's kind.</summary>
    public static string PluginDirectory(V1Volume v) => v switch
    {
        { ConfigMap: not null } => "kubernetes.io~configmap",
        { Secret: not null } => "kubernetes.io~secret",
        { DownwardAPI: not null } => "kubernetes.io~downward-api",
        _ => "kubernetes.io~projected",
    };

    /// <summary>The token a previous write left at <paramref name="path"/>, with its iat and exp claims; null when absent or unreadable.</summary>
    private static (string Token, DateTimeOffset Issued, DateTimeOffset Expires)? CurrentToken(string path)
    {
        try
        {
            if (!File.Exists(path)) return null;
            var token = File.ReadAllText(path);
            var parts = token.Split('.');
            if (parts.Length != 3) return null;
            var payload = parts[1].Replace('-', '+').Replace('_', '/');
            payload = payload.PadRight(payload.Length + (4 - payload.Length % 4) % 4, '=');
            var claims = JsonNode.Parse(Convert.FromBase64String(payload));
            if (claims?["iat"]?.GetValue<long>() is not { } iat || claims["exp"]?.GetValue<long>() is not { } exp || exp <= iat) return null;
            return (token, DateTimeOffset.FromUnixTimeSeconds(iat), DateTimeOffset.FromUnixTimeSeconds(exp));
        }
        catch (Exception e) when (e is IOException or FormatException or System.Text.Json.JsonException or InvalidOperationException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>A token for the pod's ServiceAccount, bound to the pod, through serviceaccounts/token (TokenRequest).</summary>
    private static async Task<(string Token, DateTimeOffset Issued, DateTimeOffset Expires)> RequestTokenAsync(
        IKubeApi api, V1Pod pod, string ns, V1ServiceAccountTokenProjection t, CancellationToken ct)
    {
        var account = pod.Spec?.ServiceAccountName is { Length: > 0 } a ? a : "default";
        var spec = new JsonObject
        {
            ["expirationSeconds"] = t.ExpirationSeconds ?? 3600,
            ["boundObjectRef"] = new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Pod", ["name"] = pod.Metadata?.Name, ["uid"] = pod.Metadata?.Uid },
        };
        if (t.Audience is { Length: > 0 } audience) spec["audiences"] = new JsonArray(audience);
        var issued = DateTimeOffset.UtcNow;
        JsonObject reply;
        try
        {
            reply = await api.CreateAsync(ApiResource.ServiceAccounts, ns, new JsonObject
            {
                ["apiVersion"] = "authentication.k8s.io/v1", ["kind"] = "TokenRequest",
                ["metadata"] = new JsonObject { ["name"] = account, ["namespace"] = ns },
                ["spec"] = spec,
            }, "token", ct).ConfigureAwait(false);
        }
        catch (KubeApiException e)
        {
            throw new VolumeNotReadyException($"failed to fetch token: {e.Message}");
        }
        var token = Meta.Str(reply["status"]?["token"]);
        if (token.Length == 0) throw new VolumeNotReadyException("failed to fetch token: the TokenRequest answer has no token");
        var expires = DateTimeOffset.TryParse(Meta.Str(reply["status"]?["expirationTimestamp"]), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var e2)
            ? e2 : issued.AddSeconds(t.ExpirationSeconds ?? 3600);
        return (token, issued, expires);
    }

    private static async Task<JsonObject?> GetOptionalAsync(IKubeApi api, ApiResource resource, string ns, string name, bool optional, CancellationToken ct)
    {
        try { return await api.GetAsync(resource, ns, name, ct: ct).ConfigureAwait(false); }
        catch (KubeApiException e) when (e.IsNotFound)
        {
            if (optional) return null;
            throw new VolumeNotReadyException($"{resource.Kind.ToLowerInvariant()} \"{name}\" not found");
        }
    }

    /// <summary>The files of a ConfigMap's or Secret's keys: the listed items (each must exist unless optional), else every key.</summary>
    private static IEnumerable<(string, byte[], UnixFileMode)> Keys(JsonObject? obj, bool secret, IList<V1KeyToPath>? items, string what, string name, bool optional, UnixFileMode defaultMode)
    {
        if (obj is null) yield break;
        var data = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        if (obj["data"] is JsonObject d)
            foreach (var (k, v) in d) data[k] = secret ? Convert.FromBase64String(Meta.Str(v)) : Encoding.UTF8.GetBytes(Meta.Str(v));
        if (obj["binaryData"] is JsonObject b)
            foreach (var (k, v) in b) data[k] = Convert.FromBase64String(Meta.Str(v));
        if (items is null || items.Count == 0)
        {
            foreach (var (k, v) in data) yield return (k, v, defaultMode);
            yield break;
        }
        foreach (var item in items)
        {
            if (data.TryGetValue(item.Key, out var value)) yield return (item.Path, value, item.Mode is { } m ? (UnixFileMode)m : defaultMode);
            else if (!optional) throw new VolumeNotReadyException($"{what} \"{name}\" references non-existent key: {item.Key}");
        }
    }

    private static string FieldOf(V1Pod pod, V1DownwardAPIVolumeFile item)
    {
        var path = item.FieldRef?.FieldPath ?? throw new VolumeNotReadyException($"downwardAPI item \"{item.Path}\": only fieldRef is supported by this kubelet");
        var meta = pod.Metadata;
        return path switch
        {
            "metadata.namespace" => meta?.NamespaceProperty ?? "default",
            "metadata.name" => meta?.Name ?? "",
            "metadata.uid" => meta?.Uid ?? "",
            "metadata.labels" => string.Join("\n", (meta?.Labels ?? new Dictionary<string, string>()).OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key}=\"{k.Value}\"")),
            "metadata.annotations" => string.Join("\n", (meta?.Annotations ?? new Dictionary<string, string>()).OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key}=\"{k.Value}\"")),
            "spec.serviceAccountName" => pod.Spec?.ServiceAccountName ?? "",
            "spec.nodeName" => pod.Spec?.NodeName ?? "",
            _ => throw new VolumeNotReadyException($"downwardAPI item \"{item.Path}\": unsupported fieldPath \"{path}\""),
        };
    }
}
