using YamlDotNet.RepresentationModel;

namespace AkkaKube.Cli;

/// <summary>
/// Puts a cluster's kubeconfig (DATA/kubeconfig, whatever `up` wrote into it) into the user's kubeconfig as cluster,
/// user and context `akkakube-NAME`, like kind's `kind-NAME`, leaving every other entry and field as it was. The
/// target is the first file of $KUBECONFIG, else ~/.kube/config (kubectl's rules for where a change goes).
/// </summary>
public static class KubeconfigMerge
{
    public static string ContextName(string cluster) => $"akkakube-{cluster}";

    public static string UserKubeconfig()
    {
        var env = Environment.GetEnvironmentVariable("KUBECONFIG");
        if (!string.IsNullOrWhiteSpace(env))
            return Path.GetFullPath(env.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)[0]);
        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".kube", "config");
    }

    /// <summary>The cluster's own kubeconfig with its cluster, user and context renamed to akkakube-NAME.</summary>
    public static YamlMappingNode Renamed(string clusterKubeconfig, string cluster)
    {
        var doc = Load(clusterKubeconfig) ?? throw new CliException($"'{clusterKubeconfig}' is not a kubeconfig");
        var name = ContextName(cluster);
        var c = First(doc, "clusters");
        var u = First(doc, "users");
        var x = First(doc, "contexts");
        c.Children[new YamlScalarNode("name")] = new YamlScalarNode(name);
        u.Children[new YamlScalarNode("name")] = new YamlScalarNode(name);
        x.Children[new YamlScalarNode("name")] = new YamlScalarNode(name);
        var ctx = (YamlMappingNode)x.Children[new YamlScalarNode("context")];
        ctx.Children[new YamlScalarNode("cluster")] = new YamlScalarNode(name);
        ctx.Children[new YamlScalarNode("user")] = new YamlScalarNode(name);
        return new YamlMappingNode(
            new YamlScalarNode("apiVersion"), new YamlScalarNode("v1"),
            new YamlScalarNode("kind"), new YamlScalarNode("Config"),
            new YamlScalarNode("clusters"), new YamlSequenceNode(c),
            new YamlScalarNode("contexts"), new YamlSequenceNode(x),
            new YamlScalarNode("current-context"), new YamlScalarNode(name),
            new YamlScalarNode("users"), new YamlSequenceNode(u),
            new YamlScalarNode("preferences"), new YamlMappingNode());
    }

    /// <summary>Adds (or replaces) akkakube-NAME in the user's kubeconfig and makes it the current context; returns the file.</summary>
    public static string Merge(string clusterKubeconfig, string cluster)
    {
        var target = UserKubeconfig();
        var merged = Load(target) ?? new YamlMappingNode(new YamlScalarNode("apiVersion"), new YamlScalarNode("v1"), new YamlScalarNode("kind"), new YamlScalarNode("Config"));
        var ours = Renamed(clusterKubeconfig, cluster);
        var name = ContextName(cluster);
        foreach (var section in new[] { "clusters", "users", "contexts" })
        {
            var list = Sequence(merged, section);
            Remove(list, name);
            list.Add(((YamlSequenceNode)ours.Children[new YamlScalarNode(section)]).Children[0]);
        }
        merged.Children[new YamlScalarNode("current-context")] = new YamlScalarNode(name);
        Save(target, merged);
        return target;
    }

    /// <summary>Removes akkakube-NAME from the user's kubeconfig (clearing current-context if it pointed there); false when absent.</summary>
    public static bool Remove(string cluster)
    {
        var target = UserKubeconfig();
        if (Load(target) is not { } merged) return false;
        var name = ContextName(cluster);
        var removed = false;
        foreach (var section in new[] { "clusters", "users", "contexts" })
            removed |= Remove(Sequence(merged, section), name);
        if (merged.Children.TryGetValue(new YamlScalarNode("current-context"), out var current) && current is YamlScalarNode { Value: var v } && v == name)
            merged.Children[new YamlScalarNode("current-context")] = new YamlScalarNode("");
        if (removed) Save(target, merged);
        return removed;
    }

    public static string ToYaml(YamlMappingNode doc)
    {
        using var writer = new StringWriter();
        new YamlStream(new YamlDocument(doc)).Save(writer, assignAnchors: false);
        var text = writer.ToString();
        return text.EndsWith("...\n", StringComparison.Ordinal) ? text[..^4] : text;
    }

    private static YamlMappingNode? Load(string path)
    {
        if (!File.Exists(path)) return null;
        var text = File.ReadAllText(path);
        if (string.IsNullOrWhiteSpace(text)) return null;
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            return stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode as YamlMappingNode
                ?? throw new CliException($"kubeconfig '{path}' is not a YAML mapping");
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new CliException($"kubeconfig '{path}' is not valid YAML ({e.Start}: {e.Message}); fix it or pass --no-kubeconfig");
        }
    }

    private static void Save(string path, YamlMappingNode doc)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var tmp = path + $".akkakube-{Environment.ProcessId}.tmp";
        File.WriteAllText(tmp, ToYaml(doc));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(tmp, UnixFileMode.UserRead | UnixFileMode.UserWrite); // credentials inside
        File.Move(tmp, path, overwrite: true);
    }

    private static YamlMappingNode First(YamlMappingNode doc, string section) =>
        doc.Children.TryGetValue(new YamlScalarNode(section), out var s) && s is YamlSequenceNode { Children.Count: > 0 } seq && seq.Children[0] is YamlMappingNode m
            ? m
            : throw new CliException($"the cluster's kubeconfig has no {section}");

    private static YamlSequenceNode Sequence(YamlMappingNode doc, string section)
    {
        if (doc.Children.TryGetValue(new YamlScalarNode(section), out var s) && s is YamlSequenceNode seq) return seq;
        var created = new YamlSequenceNode();
        doc.Children[new YamlScalarNode(section)] = created;
        return created;
    }

    private static bool Remove(YamlSequenceNode list, string name)
    {
        var gone = list.Children.Where(n => n is YamlMappingNode m && m.Children.TryGetValue(new YamlScalarNode("name"), out var v) && v is YamlScalarNode { Value: var s } && s == name).ToList();
        foreach (var g in gone) list.Children.Remove(g);
        return gone.Count > 0;
    }
}
