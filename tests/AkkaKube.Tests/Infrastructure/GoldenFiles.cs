namespace AkkaKube.Tests.Infrastructure;

/// <summary>
/// Golden text files beside the tests (tests/AkkaKube.Tests/&lt;area&gt;/golden/&lt;name&gt;.nft): a generator's output must equal
/// its file. AKKAKUBE_UPDATE_GOLDEN=1 rewrites the files from the generator (then read the diff before committing it).
/// </summary>
public static class GoldenFiles
{
    public static void AssertMatches(string area, string name, string text)
    {
        var path = Path.Combine(Directory(area), name + ".nft");
        if (Environment.GetEnvironmentVariable("AKKAKUBE_UPDATE_GOLDEN") == "1") File.WriteAllText(path, text);
        Assert.True(File.Exists(path), $"no golden file {path} (AKKAKUBE_UPDATE_GOLDEN=1 writes it)");
        Assert.Equal(File.ReadAllText(path), text);
    }

    private static string Directory(string area)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "AkkaKube.Tests", area, "golden");
            if (System.IO.Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException($"tests/AkkaKube.Tests/{area}/golden not found above {AppContext.BaseDirectory}");
    }
}
