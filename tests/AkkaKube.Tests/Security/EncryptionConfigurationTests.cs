using System.Security.Cryptography;
using AkkaKube.Actors.Security;

namespace AkkaKube.Tests.Security;

/// <summary>kube-apiserver's EncryptionConfiguration as AkkaKube reads it: providers, rotation, fallbacks and errors.</summary>
public sealed class EncryptionConfigurationTests
{
    private static readonly string Key1 = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
    private static readonly string Key2 = Convert.ToBase64String(Enumerable.Range(101, 32).Select(i => (byte)i).ToArray());

    public static string Config(string providers, string resources = "secrets") => $"""
        apiVersion: apiserver.config.k8s.io/v1
        kind: EncryptionConfiguration
        resources:
          - resources: [{resources}]
            providers:
        {providers}
        """;

    public static string AesGcm(params (string Name, string Secret)[] keys) =>
        "      - aesgcm:\n          keys:\n" + string.Concat(keys.Select(k => $"            - name: {k.Name}\n              secret: {k.Secret}\n"));

    public const string Identity = "      - identity: {}\n";

    private const string Secret = """{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s","namespace":"default"},"data":{"password":"aHVudGVyMg=="}}""";

    [Fact]
    public void The_first_provider_encrypts_with_its_first_key_and_reads_back()
    {
        var t = EncryptionConfiguration.Parse(Config(AesGcm(("key1", Key1)) + Identity)).For("secrets")!;
        var stored = t.ToStorage(Secret, "secrets");
        Assert.StartsWith("k8s:enc:aesgcm:v1:key1:", stored);
        Assert.DoesNotContain("aHVudGVyMg", stored);
        Assert.NotEqual(stored, t.ToStorage(Secret, "secrets")); // a fresh nonce every write
        Assert.Equal(Secret, t.FromStorage(stored, "secrets"));
    }

    [Fact]
    public void A_rotated_configuration_reads_the_old_key_and_writes_the_new_one()
    {
        var before = EncryptionConfiguration.Parse(Config(AesGcm(("key1", Key1)))).For("secrets")!;
        var old = before.ToStorage(Secret, "secrets");
        var after = EncryptionConfiguration.Parse(Config(AesGcm(("key2", Key2), ("key1", Key1)))).For("secrets")!;
        Assert.Equal(Secret, after.FromStorage(old, "secrets"));
        Assert.StartsWith("k8s:enc:aesgcm:v1:key2:", after.ToStorage(Secret, "secrets"));
    }

    [Fact]
    public void Identity_last_reads_data_written_before_encryption_and_without_it_plain_data_is_an_error()
    {
        Assert.Equal(Secret, EncryptionConfiguration.Parse(Config(AesGcm(("key1", Key1)) + Identity)).For("secrets")!.FromStorage(Secret, "secrets"));
        var strict = EncryptionConfiguration.Parse(Config(AesGcm(("key1", Key1)))).For("secrets")!;
        Assert.Contains("no identity provider", Assert.Throws<CryptographicException>(() => strict.FromStorage(Secret, "secrets")).Message);
    }

    [Fact]
    public void A_removed_key_a_tampered_value_or_another_resource_cannot_decrypt()
    {
        var stored = EncryptionConfiguration.Parse(Config(AesGcm(("key1", Key1)))).For("secrets")!.ToStorage(Secret, "secrets");
        var other = EncryptionConfiguration.Parse(Config(AesGcm(("key2", Key2)) + Identity)).For("secrets")!;
        Assert.Contains("k8s:enc:aesgcm:v1:key1", Assert.Throws<CryptographicException>(() => other.FromStorage(stored, "secrets")).Message);

        var same = EncryptionConfiguration.Parse(Config(AesGcm(("key1", Key1)), "secrets, configmaps")).For("secrets")!;
        var tampered = stored[..^6] + (stored[^6] == 'A' ? 'B' : 'A') + stored[^5..];
        Assert.Throws<CryptographicException>(() => same.FromStorage(tampered, "secrets"));
        Assert.Throws<CryptographicException>(() => same.FromStorage(stored, "configmaps")); // bound to its resource
    }

    [Theory]
    [InlineData("secrets", "secrets", true)]
    [InlineData("secrets", "configmaps", false)]
    [InlineData("secrets", "secrets@team-a", true)]
    [InlineData("'*.apps'", "deployments.apps", true)]
    [InlineData("'*.apps'", "secrets", false)]
    [InlineData("'*.'", "configmaps", true)]
    [InlineData("'*.'", "deployments.apps", false)]
    [InlineData("'*.*'", "leases.coordination.k8s.io", true)]
    public void Resources_match_by_name_group_wildcard_or_everything(string pattern, string partition, bool encrypted)
    {
        var config = EncryptionConfiguration.Parse(Config(AesGcm(("key1", Key1)), pattern));
        Assert.Equal(encrypted, config.For(partition) is not null);
    }

    [Theory]
    [InlineData("kind: Nope\napiVersion: apiserver.config.k8s.io/v1\nresources: []", "kind must be EncryptionConfiguration")]
    [InlineData("kind: EncryptionConfiguration\napiVersion: v1\nresources: []", "apiVersion must be")]
    [InlineData("kind: EncryptionConfiguration\napiVersion: apiserver.config.k8s.io/v1\nresources: []", "resources must be a non-empty list")]
    [InlineData("[", "")]
    public void Bad_files_are_one_line_errors(string text, string expected)
    {
        var e = Assert.Throws<EncryptionConfigException>(() => EncryptionConfiguration.Parse(text));
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("      - aesgcm:\n          keys:\n            - name: k\n              secret: c2hvcnQ=\n", "must be 16, 24 or 32 bytes")]
    [InlineData("      - aesgcm:\n          keys:\n            - name: k\n              secret: '%%%'\n", "is not base64")]
    [InlineData("      - aesgcm:\n          keys: []\n", "keys must be a non-empty list")]
    [InlineData("      - secretbox:\n          keys: []\n", "'secretbox' is not supported")]
    [InlineData("      - rot13: {}\n", "unknown provider 'rot13'")]
    public void Bad_providers_name_the_field(string providers, string expected)
    {
        var e = Assert.Throws<EncryptionConfigException>(() => EncryptionConfiguration.Parse(Config(providers)));
        Assert.Contains(expected, e.Message);
        Assert.Contains("providers[0]", e.Message);
    }
}
