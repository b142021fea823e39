using AkkaKube.Actors.Kubelet;
using AkkaKube.Actors.Runtime;

namespace AkkaKube.Tests.Kubelet;

/// <summary>The kubelet's image manager against a runtime's image service: what the pull policy asks of it, and the events.</summary>
public sealed class ImageManagerTests
{
    private sealed class Images(params string[] present) : IImageService
    {
        private readonly HashSet<string> _present = [.. present];
        public List<string> Pulls { get; } = [];
        /// <summary>Credentials the registry accepts (null: anonymous); anything else is refused.</summary>
        public HashSet<string?> Accepts { get; init; } = [null];

        public Task<ImageInfo?> ImageStatusAsync(string image, CancellationToken ct = default) =>
            Task.FromResult(_present.Contains(image) ? new ImageInfo("sha256:" + image.GetHashCode(), 1234) : null);

        public Task<ImageInfo> PullImageAsync(string image, RegistryCredential? credential, CancellationToken ct = default)
        {
            Pulls.Add($"{image} as {credential?.Username ?? "anonymous"}");
            if (!Accepts.Contains(credential?.Username)) throw new ImagePullException($"failed to pull and unpack image \"{image}\": 401 Unauthorized");
            _present.Add(image);
            return Task.FromResult(new ImageInfo("sha256:pulled", 5678));
        }
    }

    private static ContainerLaunch Launch(string image, string policy, params RegistryCredential[] credentials) => new()
    {
        Namespace = "default", PodName = "p", PodUid = "u", NodeName = "n", ContainerName = "c", Image = image, PodIp = "10.0.0.1",
        PullPolicy = policy, PullCredentials = credentials,
    };

    private static async Task<(List<string> Events, Exception? Error)> Ensure(Images images, ContainerLaunch launch)
    {
        var events = new List<string>();
        try
        {
            await ImageManager.EnsureImageAsync(images, launch, (type, reason, message) => events.Add($"{type} {reason}: {message}"));
            return (events, null);
        }
        catch (Exception e) { return (events, e); }
    }

    [Fact]
    public async Task IfNotPresent_uses_a_present_image_and_pulls_a_missing_one_with_the_kubelets_events()
    {
        var images = new Images("web:1");
        var (present, _) = await Ensure(images, Launch("web:1", "IfNotPresent"));
        Assert.Equal(["Normal Pulled: Container image \"web:1\" already present on machine"], present);
        Assert.Empty(images.Pulls);

        var (pulled, error) = await Ensure(images, Launch("db:2", "IfNotPresent"));
        Assert.Null(error);
        Assert.Equal("Normal Pulling: Pulling image \"db:2\"", pulled[0]);
        Assert.Matches("""^Normal Pulled: Successfully pulled image "db:2" in \d+(ms|\.?\d*s) \(\d+(ms|\.?\d*s) including waiting\)\. Image size: 5678 bytes\.$""", pulled[1]);
        Assert.Equal(["db:2 as anonymous"], images.Pulls);
    }

    [Fact]
    public async Task Always_pulls_a_present_image_except_the_projects_own_and_Never_refuses_a_missing_one()
    {
        var images = new Images("web:1", "akkakube/echo");
        var (always, _) = await Ensure(images, Launch("web:1", "Always"));
        Assert.Equal(2, always.Count);
        Assert.Equal(["web:1 as anonymous"], images.Pulls);

        var (own, _) = await Ensure(images, Launch("akkakube/echo", "Always"));
        Assert.Equal(["Normal Pulled: Container image \"akkakube/echo\" already present on machine"], own);
        Assert.Single(images.Pulls);

        var (never, error) = await Ensure(images, Launch("absent:1", "Never"));
        Assert.Equal(ContainerStartException.ErrImageNeverPull, Assert.IsType<ContainerStartException>(error).Reason);
        Assert.Equal(["Warning ErrImageNeverPull: Container image \"absent:1\" is not present with pull policy of Never"], never);
        Assert.Single(images.Pulls);
    }

    [Fact]
    public async Task A_pull_tries_each_matching_credential_then_anonymous_and_fails_with_the_last_answer()
    {
        var images = new Images { Accepts = ["bob"] };
        var (events, error) = await Ensure(images, Launch("private:1", "IfNotPresent", new RegistryCredential("r", "alice", "x", null), new RegistryCredential("r", "bob", "y", null)));
        Assert.Null(error);
        Assert.Equal(["private:1 as alice", "private:1 as bob"], images.Pulls);
        Assert.StartsWith("Normal Pulled: Successfully pulled image", events[^1]);

        var refused = new Images { Accepts = [] };
        var (_, failed) = await Ensure(refused, Launch("private:1", "IfNotPresent", new RegistryCredential("r", "alice", "x", null)));
        var e = Assert.IsType<ContainerStartException>(failed);
        Assert.Equal(ContainerStartException.ErrImagePull, e.Reason);
        Assert.Contains("401 Unauthorized", e.Message);
        Assert.Equal(["private:1 as alice", "private:1 as anonymous"], refused.Pulls);
    }

    [Theory]
    [InlineData(850, "850ms")]
    [InlineData(1234, "1.234s")]
    [InlineData(2000, "2s")]
    [InlineData(123_500, "2m3.5s")]
    [InlineData(60_000, "1m0s")]
    public void Durations_read_as_gos(int ms, string expected) => Assert.Equal(expected, ImageManager.GoDuration(TimeSpan.FromMilliseconds(ms)));
}
