using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Cli;

/// <summary>
/// No Docker engine runs here, so this runs the Dockerfile's own build command (read from its
/// `RUN dotnet publish` line, /app replaced by a temp dir) and checks the image's entry point would start.
/// </summary>
public sealed class PublishTests
{
    internal static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "AkkaKube.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("AkkaKube.sln not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public async Task The_dockerfile_publish_command_produces_a_runnable_node()
    {
        var root = RepoRoot();
        var run = File.ReadAllLines(Path.Combine(root, "Dockerfile")).Single(l => l.StartsWith("RUN dotnet publish", StringComparison.Ordinal));
        Assert.Equal("RUN dotnet publish src/Host -c Release -o /app", run);
        using var output = new TempDir();
        var args = run["RUN dotnet ".Length..].Split(' ').Select(a => a == "/app" ? output.Path : a).ToList();
        var publish = await ProcessRunner.RunAsync("dotnet", args, TimeSpan.FromMinutes(8), workingDirectory: root,
            env: new Dictionary<string, string> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_NOLOGO"] = "1" });
        Assert.True(publish.ExitCode == 0, publish.Output);
        foreach (var f in new[] { "akkakube-node", "akkakube-node.dll", "hocon/base.conf", "hocon/control-plane.conf", "hocon/worker.conf", "hocon/persistence-postgres.conf" })
            Assert.True(File.Exists(Path.Combine(output.Path, f)), $"{f} missing from the published output");
        var help = await ProcessRunner.RunAsync(Path.Combine(output.Path, "akkakube-node"), ["--help"], TimeSpan.FromMinutes(1));
        Assert.True(help.ExitCode == 0, help.Output);
        Assert.Contains("--node-name", help.Stdout);
    }
}
