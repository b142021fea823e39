using AkkaKube.Actors.Cluster;
using AkkaKube.Actors.Security;
using AkkaKube.Tests.Infrastructure;

namespace AkkaKube.Tests.Security;

/// <summary>
/// The data directory is narrowed to 0700, but a shared directory such as /tmp is refused untouched: narrowing it
/// once closed /tmp to every other user of the machine (PostgreSQL's initdb then failed for lack of access).
/// </summary>
public sealed class PrivateFilesTests : IDisposable
{
    private const UnixFileMode SharedTemp = (UnixFileMode)0b1_111_111_111; // 1777, as /tmp
    private readonly TempDir _dir = new();

    [SkippableFact]
    public void A_new_data_directory_is_created_0700()
    {
        Skip.If(OperatingSystem.IsWindows(), "Unix file modes");
        var data = Path.Combine(_dir.Path, "data");
        PrivateFiles.EnsureDirectory(data);
        Assert.Equal<UnixFileMode?>(PrivateFiles.DirectoryMode, PrivateFiles.ModeOf(data));
    }

    [SkippableFact]
    public void A_shared_directory_is_refused_and_keeps_its_mode()
    {
        Skip.If(OperatingSystem.IsWindows(), "Unix file modes");
        MakeShared(_dir.Path);
        var error = Assert.Throws<IOException>(() => PrivateFiles.EnsureDirectory(_dir.Path));
        Assert.Contains("shared directory", error.Message);
        Assert.Equal<UnixFileMode?>(SharedTemp, PrivateFiles.ModeOf(_dir.Path));
        Assert.False(Directory.Exists(Path.Combine(_dir.Path, "pki")));
    }

    [SkippableFact]
    public void A_node_given_a_shared_data_directory_stops_with_a_one_line_error()
    {
        Skip.If(OperatingSystem.IsWindows(), "Unix file modes");
        MakeShared(_dir.Path);
        var node = new NodeOptions { NodeName = "n", DataDirectory = _dir.Path };
        var error = Assert.Throws<NodeConfigException>(() => AkkaKube.Host.NodeCommandLine.Preflight(node));
        Assert.Contains("shared directory", error.Message);
        Assert.Equal<UnixFileMode?>(SharedTemp, PrivateFiles.ModeOf(_dir.Path));
    }

    private static void MakeShared(string path)
    {
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, SharedTemp);
    }

    public void Dispose() => _dir.Dispose();
}
