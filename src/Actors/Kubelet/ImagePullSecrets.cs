using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.Runtime;
using k8s.Models;

namespace AkkaKube.Actors.Kubelet;

/// <summary>
/// The pod's imagePullSecrets as registry credentials, as the kubelet's keyring does: kubernetes.io/dockerconfigjson
/// (and the legacy dockercfg) entries whose key matches the image — the host (with <c>*</c> globs per label, and the
/// port), then the key's path as a prefix of the image's repository — most specific key first. A bare image name is on
/// docker.io (keys such as https://index.docker.io/v1/ name it). Missing or malformed secrets are skipped, as the
/// kubelet pulls without them then.
/// </summary>
public static class ImagePullSecrets
{
    private const string DockerHub = "docker.io";

    public static async Task<IReadOnlyList<RegistryCredential>> ResolveAsync(IKubeApi api, V1Pod pod, string image, CancellationToken ct = default)
    {
        var refs = pod.Spec?.ImagePullSecrets;
        if (refs is not { Count: > 0 }) return [];
        var secrets = new List<JsonObject>();
        foreach (var r in refs)
        {
            if (string.IsNullOrEmpty(r.Name)) continue;
            try { secrets.Add(await api.GetAsync(ApiResource.Secrets, pod.Metadata?.NamespaceProperty ?? "default", r.Name, ct: ct).ConfigureAwait(false)); }
            catch (KubeApiException e) when (e.IsNotFound) { }
        }
        return Match(image, secrets);
    }

    public static IReadOnlyList<RegistryCredential> Match(string image, IEnumerable<JsonObject> secrets)
    {
        var (host, path) = Locate(image);
        var found = new List<(int Specificity, RegistryCredential Credential)>();
        foreach (var (key, entry) in secrets.SelectMany(Entries))
        {
            if (ParseKey(key) is not { } k || !HostMatches(k.Host, host) || !PathMatches(k.Path, path)) continue;
            var username = Str(entry["username"]);
            var password = Str(entry["password"]);
            var auth = Str(entry["auth"]);
            if (username is null && auth is not null && Decode(auth) is { } decoded && decoded.IndexOf(':') is var colon and > 0)
                (username, password) = (decoded[..colon], decoded[(colon + 1)..]);
            if (username is null && auth is null) continue;
            found.Add((k.Host.Length + k.Path.Length, new RegistryCredential(key, username, password, auth)));
        }
        return found.OrderByDescending(f => f.Specificity).Select(f => f.Credential).ToList();
    }

    /// <summary>The registry host and repository path of an image reference (Docker's normalization).</summary>
    public static (string Host, string Path) Locate(string image)
    {
        var name = image.Split('@')[0];
        var slash = name.IndexOf('/');
        string host, path;
        if (slash > 0 && name[..slash] is var first && (first.Contains('.') || first.Contains(':') || first == "localhost"))
            (host, path) = (first.ToLowerInvariant(), name[(slash + 1)..]);
        else
            (host, path) = (DockerHub, slash < 0 ? "library/" + name : name);
        var colon = path.LastIndexOf(':');
        if (colon > path.LastIndexOf('/')) path = path[..colon];
        return (host, path);
    }

    private static IEnumerable<(string Key, JsonObject Entry)> Entries(JsonObject secret)
    {
        var type = Str(secret["type"]);
        var (field, nested) = type switch
        {
            "kubernetes.io/dockerconfigjson" => (".dockerconfigjson", true),
            "kubernetes.io/dockercfg" => (".dockercfg", false),
            _ => (null, false),
        };
        if (field is null || Str(secret["data"]?[field]) is not { } encoded || Decode(encoded) is not { } json) yield break;
        JsonObject? root;
        try { root = JsonNode.Parse(json) as JsonObject; }
        catch (JsonException) { yield break; }
        var auths = nested ? root?["auths"] as JsonObject : root;
        foreach (var (key, value) in auths ?? [])
            if (value is JsonObject entry) yield return (key, entry);
    }

    private sealed record Key(string Host, string Path);

    /// <summary>host[:port][/path] of a key with or without a scheme (not System.Uri: a host may be a glob such as *.example.com).</summary>
    private static Key? ParseKey(string key)
    {
        var text = key.Trim();
        if (text.IndexOf("://", StringComparison.Ordinal) is var scheme and >= 0) text = text[(scheme + 3)..];
        var slash = text.IndexOf('/');
        var host = (slash < 0 ? text : text[..slash]).ToLowerInvariant();
        var path = slash < 0 ? "" : text[(slash + 1)..].Trim('/');
        if (host.Length == 0 || host.Any(c => char.IsWhiteSpace(c) || c is '@' or '?' or '#')) return null;
        if (host.EndsWith(":443", StringComparison.Ordinal)) host = host[..^4];
        if (host is "index.docker.io" or "registry-1.docker.io" or DockerHub)
            return new Key(DockerHub, path is "v1" or "v2" ? "" : path);
        return new Key(host, path);
    }

    private static bool HostMatches(string pattern, string host)
    {
        var (patternName, patternPort) = SplitPort(pattern);
        var (name, port) = SplitPort(host);
        if (patternPort != port) return false;
        var a = patternName.Split('.');
        var b = name.Split('.');
        return a.Length == b.Length && a.Zip(b, LabelMatches).All(matched => matched);
    }

    private static bool LabelMatches(string pattern, string label) =>
        Regex.IsMatch(label, "^" + Regex.Escape(pattern).Replace(@"\*", "[^.]*") + "$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));

    private static (string Name, string Port) SplitPort(string host) =>
        host.LastIndexOf(':') is var i and > 0 ? (host[..i], host[(i + 1)..]) : (host, "");

    private static bool PathMatches(string keyPath, string imagePath) =>
        keyPath.Length == 0 || imagePath == keyPath || imagePath.StartsWith(keyPath + "/", StringComparison.Ordinal);

    private static string? Str(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;

    private static string? Decode(string base64)
    {
        try { return Encoding.UTF8.GetString(Convert.FromBase64String(base64)); }
        catch (FormatException) { return null; }
    }
}
