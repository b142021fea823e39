using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using AkkaKube.Actors.ApiServer;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.Security;

/// <summary>
/// Encryption at rest, configured as kube-apiserver's --encryption-provider-config (EncryptionConfiguration,
/// apiserver.config.k8s.io/v1): per resource ("secrets", "deployments.apps", "*.apps", "*.*") an ordered list of
/// providers; the first encrypts every write, all of them are tried for reads, so adding a new key first rotates it
/// and leaving <c>identity</c> last reads data written before encryption was turned on. Providers: <c>aesgcm</c>
/// (AES-GCM, 16/24/32-byte keys, random 96-bit nonces, the resource name as associated data) and <c>identity</c>.
/// </summary>
public sealed class EncryptionConfiguration
{
    public const string Prefix = "k8s:enc:";
    private readonly IReadOnlyList<(string Pattern, StorageTransformer Transformer)> _rules;

    private EncryptionConfiguration(IReadOnlyList<(string, StorageTransformer)> rules) => _rules = rules;

    /// <summary>The transformer of <paramref name="resource"/> (a store partition name), or null: stored as it is.</summary>
    public StorageTransformer? For(string resource)
    {
        var name = resource.Split('@', 2)[0]; // "pods@team-a": a namespace split of one resource
        var group = name.Contains('.') ? name[(name.IndexOf('.') + 1)..] : "";
        foreach (var (pattern, transformer) in _rules)
        {
            if (pattern == name || pattern == "*.*"
                || (pattern.StartsWith("*.", StringComparison.Ordinal) && pattern[2..] == group)
                || (pattern == "*." && group.Length == 0))
                return transformer;
        }
        return null;
    }

    public static EncryptionConfiguration Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EncryptionConfigException($"cannot read '{path}': {e.Message}");
        }
        return Parse(text, path);
    }

    public static EncryptionConfiguration Parse(string yamlOrJson, string source = "the encryption configuration")
    {
        JsonNode root;
        try
        {
            root = YamlJson.Parse(yamlOrJson);
        }
        catch (ApiException e)
        {
            throw new EncryptionConfigException($"{source}: {e.Message}");
        }
        if (root is not JsonObject o) throw new EncryptionConfigException($"{source}: expected an EncryptionConfiguration object");
        if (Meta.Str(o["kind"]) != "EncryptionConfiguration")
            throw new EncryptionConfigException($"{source}: kind must be EncryptionConfiguration");
        if (Meta.Str(o["apiVersion"]) is not ("apiserver.config.k8s.io/v1" or "apiserver.k8s.io/v1"))
            throw new EncryptionConfigException($"{source}: apiVersion must be apiserver.config.k8s.io/v1");
        if (o["resources"] is not JsonArray resources || resources.Count == 0)
            throw new EncryptionConfigException($"{source}: resources must be a non-empty list");

        var rules = new List<(string, StorageTransformer)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < resources.Count; i++)
        {
            var at = $"{source}: resources[{i}]";
            if (resources[i] is not JsonObject entry || entry["resources"] is not JsonArray names || names.Count == 0)
                throw new EncryptionConfigException($"{at}.resources must be a non-empty list of resource names");
            if (entry["providers"] is not JsonArray providers || providers.Count == 0)
                throw new EncryptionConfigException($"{at}.providers must be a non-empty list");
            var transformer = new StorageTransformer(providers.Select((p, j) => Provider(p, $"{at}.providers[{j}]")).ToList());
            foreach (var n in names)
            {
                var name = Meta.Str(n);
                if (string.IsNullOrWhiteSpace(name) || name != name.Trim().ToLowerInvariant())
                    throw new EncryptionConfigException($"{at}.resources: '{name}' is not a lower-case resource name");
                if (!seen.Add(name)) throw new EncryptionConfigException($"{at}.resources: '{name}' is listed twice");
                rules.Add((name, transformer));
            }
        }
        return new EncryptionConfiguration(rules);
    }

    private static IStorageProvider Provider(JsonNode? node, string at)
    {
        if (node is not JsonObject p || p.Count != 1)
            throw new EncryptionConfigException($"{at}: each provider is an object with exactly one of aesgcm, identity");
        var (type, config) = p.First();
        switch (type)
        {
            case "identity":
                return IdentityProvider.Instance;
            case "aesgcm":
                if (config?["keys"] is not JsonArray keys || keys.Count == 0)
                    throw new EncryptionConfigException($"{at}.aesgcm.keys must be a non-empty list");
                var parsed = new List<(string, byte[])>();
                for (var k = 0; k < keys.Count; k++)
                {
                    var name = Meta.Str(keys[k]?["name"]);
                    if (string.IsNullOrEmpty(name) || name.Contains(':'))
                        throw new EncryptionConfigException($"{at}.aesgcm.keys[{k}].name must be set and hold no ':'");
                    byte[] secret;
                    try
                    {
                        secret = Convert.FromBase64String(Meta.Str(keys[k]?["secret"]) ?? "");
                    }
                    catch (FormatException)
                    {
                        throw new EncryptionConfigException($"{at}.aesgcm.keys[{k}].secret is not base64");
                    }
                    if (secret.Length is not (16 or 24 or 32))
                        throw new EncryptionConfigException($"{at}.aesgcm.keys[{k}].secret must be 16, 24 or 32 bytes (base64), got {secret.Length}");
                    if (parsed.Any(x => x.Item1 == name))
                        throw new EncryptionConfigException($"{at}.aesgcm.keys: key name '{name}' is used twice");
                    parsed.Add((name, secret));
                }
                return new AesGcmProvider(parsed);
            case "aescbc" or "secretbox" or "kms":
                throw new EncryptionConfigException($"{at}: provider '{type}' is not supported (aesgcm and identity are)");
            default:
                throw new EncryptionConfigException($"{at}: unknown provider '{type}' (aesgcm and identity are supported)");
        }
    }
}

public sealed class EncryptionConfigException(string message) : Exception(message);

/// <summary>The providers of one resource: the first writes, any may read (kube-apiserver's prefix transformers).</summary>
public sealed class StorageTransformer(IReadOnlyList<IStorageProvider> providers)
{
    public string ToStorage(string json, string resource) => providers[0].Encrypt(json, resource);

    public string FromStorage(string stored, string resource)
    {
        foreach (var p in providers)
            if (p.TryDecrypt(stored, resource, out var json))
                return json;
        throw new CryptographicException(stored.StartsWith(EncryptionConfiguration.Prefix, StringComparison.Ordinal)
            ? $"stored {resource} data '{Describe(stored)}' cannot be decrypted by any configured provider (a removed key?)"
            : $"stored {resource} data is not encrypted and the configuration has no identity provider to read it");
    }

    private static string Describe(string stored)
    {
        var parts = stored.Split(':', 6);
        return parts.Length >= 5 ? string.Join(':', parts.Take(5)) : EncryptionConfiguration.Prefix + "…";
    }
}

public interface IStorageProvider
{
    string Encrypt(string json, string resource);
    bool TryDecrypt(string stored, string resource, out string json);
}

/// <summary>Stores objects as they are; reads anything not written by an encrypting provider.</summary>
public sealed class IdentityProvider : IStorageProvider
{
    public static readonly IdentityProvider Instance = new();
    public string Encrypt(string json, string resource) => json;

    public bool TryDecrypt(string stored, string resource, out string json)
    {
        json = stored;
        return !stored.StartsWith(EncryptionConfiguration.Prefix, StringComparison.Ordinal);
    }
}

/// <summary>
/// "k8s:enc:aesgcm:v1:KEYNAME:" + base64(nonce ‖ ciphertext ‖ tag): AES-GCM under the first key, with the resource
/// name as associated data so data cannot be moved between resources. Random nonces: rotate keys well before
/// 2^32 writes per key (NIST SP 800-38D), as Kubernetes' documentation advises for this provider.
/// </summary>
public sealed class AesGcmProvider(IReadOnlyList<(string Name, byte[] Key)> keys) : IStorageProvider
{
    private const string Scheme = EncryptionConfiguration.Prefix + "aesgcm:v1:";
    private const int NonceSize = 12;
    private const int TagSize = 16;

    public string Encrypt(string json, string resource)
    {
        var (name, key) = keys[0];
        var plain = Encoding.UTF8.GetBytes(json);
        var sealedBytes = new byte[NonceSize + plain.Length + TagSize];
        var nonce = sealedBytes.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key, TagSize);
        aes.Encrypt(nonce, plain, sealedBytes.AsSpan(NonceSize, plain.Length), sealedBytes.AsSpan(NonceSize + plain.Length), Encoding.UTF8.GetBytes(resource));
        return $"{Scheme}{name}:{Convert.ToBase64String(sealedBytes)}";
    }

    public bool TryDecrypt(string stored, string resource, out string json)
    {
        json = "";
        if (!stored.StartsWith(Scheme, StringComparison.Ordinal)) return false;
        var colon = stored.IndexOf(':', Scheme.Length);
        if (colon < 0) return false;
        var name = stored[Scheme.Length..colon];
        var key = keys.FirstOrDefault(k => k.Name == name).Key;
        if (key is null) return false;
        byte[] sealedBytes;
        try
        {
            sealedBytes = Convert.FromBase64String(stored[(colon + 1)..]);
        }
        catch (FormatException)
        {
            return false;
        }
        if (sealedBytes.Length < NonceSize + TagSize) return false;
        var length = sealedBytes.Length - NonceSize - TagSize;
        var plain = new byte[length];
        using var aes = new AesGcm(key, TagSize);
        try
        {
            aes.Decrypt(sealedBytes.AsSpan(0, NonceSize), sealedBytes.AsSpan(NonceSize, length), sealedBytes.AsSpan(NonceSize + length), plain, Encoding.UTF8.GetBytes(resource));
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
        json = Encoding.UTF8.GetString(plain);
        return true;
    }
}
