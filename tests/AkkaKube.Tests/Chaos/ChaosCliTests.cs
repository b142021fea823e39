using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Chaos;

/// <summary>`akkakube chaos` refuses bad input with one line and no fault injected.</summary>
public class ChaosCliTests
{
    [Theory]
    [InlineData("kill", "worker-a1")]
    [InlineData("kill-zone", "zone-a")]
    [InlineData("crash-actor", "cp-1")]
    [InlineData("stop-actor", "cp-1")]
    public async Task A_chaos_command_without_a_local_cluster_fails_with_one_line(string command, string argument)
    {
        using var dir = new TempDir();
        string[] args = command is "crash-actor" or "stop-actor"
            ? ["chaos", command, argument, command == "crash-actor" ? "replicaset" : "store/pods", "--data-dir", dir.Path]
            : ["chaos", command, argument, "--data-dir", dir.Path];
        var r = await ProcessRunner.RunAsync(ProcessRunner.Akkakube, args, TimeSpan.FromSeconds(60));
        ProcessRunner.AssertOneLineError(r, "no cluster in");
    }

    [Fact]
    public async Task A_chaos_command_with_an_unknown_option_fails_with_one_line()
    {
        var r = await ProcessRunner.RunAsync(ProcessRunner.Akkakube, ["chaos", "kill", "worker-a1", "--timout", "5"], TimeSpan.FromSeconds(60));
        ProcessRunner.AssertOneLineError(r, "--timout");
    }
}
