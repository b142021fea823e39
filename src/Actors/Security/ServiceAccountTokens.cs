using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Akka.Actor;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace AkkaKube.Actors.Security;

/// <summary>What a ServiceAccount token is bound to: the account and, for a pod's token, the pod (names and uids).</summary>
public sealed record ServiceAccountBinding(string Namespace, string Name, string Uid, string? PodName = null, string? PodUid = null);

/// <summary>
/// The ServiceAccount token issuer and verifier (Kubernetes' serviceaccount.JWTTokenGenerator/Authenticator): ES256 JWTs
/// signed with DATA/pki/sa.key (created by the first control-plane node, 0600, shared by all through the data
/// directory), issuer https://kubernetes.default.svc.cluster.local, bound to the account's (and pod's) uid with an
/// audience and expiry. Verification checks signature, issuer, audience and lifetime; the front then checks that the
/// bound objects still exist. The public key is published as JWKS for verifiers outside the cluster.
/// </summary>
public sealed class ServiceAccountTokens : IExtension
{
    public const string Issuer = "https://kubernetes.default.svc.cluster.local";
    public const string JwksPath = "/openid/v1/jwks";
    public const string DiscoveryPath = "/.well-known/openid-configuration";
    private const string PrivateClaim = "kubernetes.io";

    private ECDsa? _key;
    private ECDsaSecurityKey? _securityKey;
    private readonly JsonWebTokenHandler _handler = new();

    public static ServiceAccountTokens Get(ActorSystem system) => system.WithExtension<ServiceAccountTokens, ServiceAccountTokensProvider>();

    public static string KeyFile(string dataDir) => Path.Combine(ClusterCa.PkiDirectory(dataDir), "sa.key");

    public bool Enabled => _securityKey is not null;

    /// <summary>Loads DATA/pki/sa.key, creating it on first use (under the pki lock, as the CA).</summary>
    public void Initialize(string dataDir)
    {
        if (_key is not null) return;
        var pki = ClusterCa.PkiDirectory(dataDir);
        PrivateFiles.EnsureDirectory(dataDir);
        PrivateFiles.EnsureDirectory(pki);
        var pem = PrivateFiles.WithLock(Path.Combine(pki, ".lock"), () =>
        {
            var file = KeyFile(dataDir);
            if (!File.Exists(file))
            {
                using var created = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                PrivateFiles.WriteAllText(file, created.ExportPkcs8PrivateKeyPem());
            }
            return File.ReadAllText(file);
        });
        var key = ECDsa.Create();
        key.ImportFromPem(pem);
        _key = key;
        _securityKey = new ECDsaSecurityKey(key) { KeyId = KeyId(key) };
    }

    /// <summary>The key id: base64url SHA-256 of the public key (as Kubernetes derives it).</summary>
    private static string KeyId(ECDsa key) => Base64UrlEncoder.Encode(SHA256.HashData(key.ExportSubjectPublicKeyInfo()));

    private ECDsaSecurityKey Key => _securityKey ?? throw new InvalidOperationException("ServiceAccount tokens are not initialised on this node");

    /// <summary>A signed token for the account (and pod), valid for <paramref name="lifetime"/>, for <paramref name="audiences"/>.</summary>
    public (string Token, DateTime Expires) Issue(ServiceAccountBinding binding, IReadOnlyList<string> audiences, TimeSpan lifetime)
    {
        var now = DateTime.UtcNow;
        var expires = now + lifetime;
        var kubernetes = new Dictionary<string, object>
        {
            ["namespace"] = binding.Namespace,
            ["serviceaccount"] = new Dictionary<string, object> { ["name"] = binding.Name, ["uid"] = binding.Uid },
        };
        if (binding.PodName is not null)
            kubernetes["pod"] = new Dictionary<string, object> { ["name"] = binding.PodName, ["uid"] = binding.PodUid ?? "" };
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            IssuedAt = now,
            NotBefore = now,
            Expires = expires,
            SigningCredentials = new SigningCredentials(Key, SecurityAlgorithms.EcdsaSha256),
            Claims = new Dictionary<string, object>
            {
                ["sub"] = Rbac.ServiceAccountUser.UserName(binding.Namespace, binding.Name),
                ["aud"] = audiences.ToArray(),
                ["jti"] = Guid.NewGuid().ToString(),
                [PrivateClaim] = kubernetes,
            },
        };
        return (_handler.CreateToken(descriptor), expires);
    }

    /// <summary>Whether the bearer token looks like a JWT (three dot-separated parts): only those are tried here.</summary>
    public static bool LooksLikeJwt(string token) => token.Count(c => c == '.') == 2;

    /// <summary>The binding of a valid token (signature, issuer, audience, lifetime), or null.</summary>
    public async Task<ServiceAccountBinding?> VerifyAsync(string token, IReadOnlyList<string> audiences)
    {
        if (_securityKey is null) return null;
        var result = await _handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = Issuer,
            ValidAudiences = audiences,
            IssuerSigningKey = _securityKey,
            ValidateLifetime = true,
            ClockSkew = TimeSpan.FromSeconds(30),
        });
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt) return null;
        // the private claim is a nested object: read it from the (already verified) payload
        if (JsonNode.Parse(Base64UrlEncoder.Decode(jwt.EncodedPayload))?[PrivateClaim] is not JsonObject k) return null;
        var ns = Rbac.RbacBinding.Str(k["namespace"]);
        var name = Rbac.RbacBinding.Str(k["serviceaccount"]?["name"]);
        var uid = Rbac.RbacBinding.Str(k["serviceaccount"]?["uid"]);
        if (ns.Length == 0 || name.Length == 0 || jwt.Subject != Rbac.ServiceAccountUser.UserName(ns, name)) return null;
        var pod = k["pod"] as JsonObject;
        return new ServiceAccountBinding(ns, name, uid, pod is null ? null : Rbac.RbacBinding.Str(pod["name"]), pod is null ? null : Rbac.RbacBinding.Str(pod["uid"]));
    }

    /// <summary>The JWKS document with the public key (GET /openid/v1/jwks).</summary>
    public JsonObject Jwks()
    {
        var p = Key.ECDsa.ExportParameters(false);
        return new JsonObject
        {
            ["keys"] = new JsonArray(new JsonObject
            {
                ["use"] = "sig", ["kty"] = "EC", ["kid"] = Key.KeyId, ["crv"] = "P-256", ["alg"] = "ES256",
                ["x"] = Base64UrlEncoder.Encode(p.Q.X!), ["y"] = Base64UrlEncoder.Encode(p.Q.Y!),
            }),
        };
    }

    /// <summary>The OpenID discovery document (GET /.well-known/openid-configuration).</summary>
    public static JsonObject DiscoveryDocument() => new()
    {
        ["issuer"] = Issuer,
        ["jwks_uri"] = Issuer + JwksPath,
        ["response_types_supported"] = new JsonArray("id_token"),
        ["subject_types_supported"] = new JsonArray("public"),
        ["id_token_signing_alg_values_supported"] = new JsonArray("ES256"),
    };

    /// <summary>The user a token's binding authenticates as, with Kubernetes' ServiceAccount groups.</summary>
    public static UserInfo UserOf(ServiceAccountBinding b) => new(Rbac.ServiceAccountUser.UserName(b.Namespace, b.Name),
        UserInfo.Authenticated([Rbac.ServiceAccountUser.AllGroup, Rbac.ServiceAccountUser.NamespaceGroup(b.Namespace)]), b.Uid);
}

public sealed class ServiceAccountTokensProvider : ExtensionIdProvider<ServiceAccountTokens>
{
    public override ServiceAccountTokens CreateExtension(ExtendedActorSystem system) => new();
}
