using System.Text;
using System.Text.Json.Nodes;
using AkkaKube.Actors.Kubelet;

namespace AkkaKube.Tests.Kubelet;

public sealed class ImagePullSecretsTests
{
    private static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));

    private static JsonObject DockerConfigJson(string auths) => new()
    {
        ["type"] = "kubernetes.io/dockerconfigjson",
        ["data"] = new JsonObject { [".dockerconfigjson"] = B64("{\"auths\":" + auths + "}") },
    };

    [Theory]
    [InlineData("nginx", "docker.io", "library/nginx")]
    [InlineData("nginx:1.27", "docker.io", "library/nginx")]
    [InlineData("bitnami/redis:7", "docker.io", "bitnami/redis")]
    [InlineData("registry.example.com:5000/team/app:v1", "registry.example.com:5000", "team/app")]
    [InlineData("localhost/app@sha256:abc", "localhost", "app")]
    [InlineData("GHCR.io/org/tool", "ghcr.io", "org/tool")]
    public void An_image_reference_names_its_registry_and_repository(string image, string host, string path) =>
        Assert.Equal((host, path), ImagePullSecrets.Locate(image));

    [Fact]
    public void Credentials_match_the_registry_host_glob_port_and_path_prefix_most_specific_first()
    {
        var secret = DockerConfigJson("""
            {
              "registry.example.com": {"username": "host", "password": "p1"},
              "https://registry.example.com/team": {"auth": "BASE"},
              "*.example.com": {"username": "glob", "password": "p3"},
              "registry.example.com:5000": {"username": "port", "password": "p4"},
              "other.example.org": {"username": "other", "password": "p5"}
            }
            """.Replace("BASE", B64("team-user:team-pass")));
        var found = ImagePullSecrets.Match("registry.example.com/team/app:v1", [secret]);
        Assert.Equal(["team-user", "host", "glob"], found.Select(c => c.Username));
        Assert.Equal("team-pass", found[0].Password);
        Assert.Equal(["port"], ImagePullSecrets.Match("registry.example.com:5000/app", [secret]).Select(c => c.Username));
        Assert.Empty(ImagePullSecrets.Match("registry.example.com/elsewhere/app", [DockerConfigJson("""{"registry.example.com/team": {"username": "u", "password": "p"}}""")]));
    }

    [Fact]
    public void Docker_hub_keys_and_the_legacy_dockercfg_format_are_understood_and_other_secrets_ignored()
    {
        var hub = DockerConfigJson("""{"https://index.docker.io/v1/": {"username": "hub", "password": "p"}}""");
        var legacy = new JsonObject
        {
            ["type"] = "kubernetes.io/dockercfg",
            ["data"] = new JsonObject { [".dockercfg"] = B64("""{"docker.io": {"username": "legacy", "password": "p"}}""") },
        };
        var opaque = new JsonObject { ["type"] = "Opaque", ["data"] = new JsonObject { [".dockerconfigjson"] = B64("""{"auths":{"docker.io":{"username":"x","password":"y"}}}""") } };
        var broken = new JsonObject { ["type"] = "kubernetes.io/dockerconfigjson", ["data"] = new JsonObject { [".dockerconfigjson"] = "not base64!" } };
        Assert.Equal(["hub", "legacy"], ImagePullSecrets.Match("nginx:1.27", [hub, legacy, opaque, broken]).Select(c => c.Username));
        Assert.DoesNotContain("secret-password", ImagePullSecrets.Match("nginx", [DockerConfigJson("""{"docker.io": {"username": "u", "password": "secret-password"}}""")])[0].ToString()); // never printed
    }
}
