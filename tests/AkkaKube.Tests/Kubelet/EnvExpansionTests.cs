using AkkaKube.Tests.Infrastructure;
using System.Text.Json.Nodes;
using AkkaKube.Actors.Client;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.Kubelet;
using static AkkaKube.Tests.Kubelet.PodBuilder;

namespace AkkaKube.Tests.Kubelet;

/// <summary>$(VAR) in command, args and env values, with the same rules as Kubernetes' expansion package.</summary>
public sealed class EnvExpansionTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly Dictionary<string, string> Vars = new() { ["MY_IP"] = "127.64.7.2", ["PORT"] = "8080", ["EMPTY"] = "" };

    private readonly TempDir _data = new();

    public EnvExpansionTests() : base("akka.loglevel = WARNING") { }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) _data.Dispose();
    }

    [Theory]
    [InlineData("$(MY_IP)", "127.64.7.2")]
    [InlineData("http://$(MY_IP):$(PORT)/", "http://127.64.7.2:8080/")]
    [InlineData("x$(EMPTY)y", "xy")]
    [InlineData("$$(MY_IP)", "$(MY_IP)")]
    [InlineData("$$$(MY_IP)", "$127.64.7.2")]
    [InlineData("$$", "$")]
    [InlineData("a$$b", "a$b")]
    [InlineData("$(UNKNOWN)", "$(UNKNOWN)")]
    [InlineData("$(UNKNOWN$$x)", "$(UNKNOWN$$x)")]
    [InlineData("$(MY_IP", "$(MY_IP")]
    [InlineData("$x", "$x")]
    [InlineData("cost $", "cost $")]
    [InlineData("$()", "$()")]
    [InlineData("no refs", "no refs")]
    public void Expansion_follows_the_Kubernetes_rules(string input, string expected) =>
        Assert.Equal(expected, EnvResolver.Expand(input, Vars));

    [Fact]
    public void Command_and_args_are_both_expanded_against_the_containers_environment()
    {
        var fake = new FakeRuntime();
        var api = new InMemoryKubeApi();
        Sys.ActorOf(KubeletActor.Props(KubeletTestSupport.Node(), KubeletTestSupport.FastSettings, api, fake, _data.Path), "kubelet");
        api.CreateNow(ApiResource.Pods, MakePod("expand").Container("c", "test/run", c =>
        {
            c["command"] = new JsonArray("serve", "--bind=$(MY_IP)", "$$(MY_IP)", "$(NOPE)");
            c["args"] = new JsonArray("--port=$(PORT)");
            c["env"] = new JsonArray(
                new JsonObject { ["name"] = "MY_IP", ["valueFrom"] = new JsonObject { ["fieldRef"] = new JsonObject { ["fieldPath"] = "status.podIP" } } },
                new JsonObject { ["name"] = "PORT", ["value"] = "80$(MY_IP)" });
        }).Build());
        AwaitAssert(() => Assert.Equal("Running", api.Pod("expand").Phase()), TimeSpan.FromSeconds(15));
        var launch = fake.LaunchesOf("c")[0];
        var ip = api.Pod("expand")!["status"]!["podIP"]!.GetValue<string>();
        Assert.Equal(["serve", $"--bind={ip}", "$(MY_IP)", "$(NOPE)"], launch.Command);
        Assert.Equal([$"--port=80{ip}"], launch.Args);
    }
}
