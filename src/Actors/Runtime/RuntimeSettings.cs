using Akka.Configuration;

namespace AkkaKube.Actors.Runtime;

/// <summary>One entry of the image table: the command (entrypoint) and default args of an image.</summary>
public sealed record ImageEntry(IReadOnlyList<string> Command, IReadOnlyList<string> Args);

/// <summary>
/// One stage of the simulated lifecycle (kwok-style, as data): containers whose image matches
/// <see cref="Image"/> ("*" = any, "prefix*" = prefix) start after <see cref="StartDelay"/> ± <see cref="StartJitter"/>
/// and, when <see cref="RunFor"/> is set, exit with <see cref="ExitCode"/> after running that long.
/// </summary>
public sealed record SimulatedStage(string Image, TimeSpan StartDelay, TimeSpan StartJitter, TimeSpan? RunFor, int ExitCode, bool PullFails)
{
    public bool Matches(string image) =>
        Image == "*" || Image == image || (Image.EndsWith('*') && image.StartsWith(Image[..^1], StringComparison.Ordinal));
}

/// <summary>Settings of the container runtimes (HOCON <c>akkakube.runtime</c>).</summary>
public sealed record RuntimeSettings
{
    public IReadOnlyDictionary<string, ImageEntry> Images { get; init; } = new Dictionary<string, ImageEntry>();
    /// <summary>Largest size of one container log file before it is rotated.</summary>
    public long LogMaxBytes { get; init; } = 10 * 1024 * 1024;
    /// <summary>Rotated files kept per container instance (besides the live one).</summary>
    public int LogMaxFiles { get; init; } = 1;
    public int SimulatedSeed { get; init; } = 1;
    public IReadOnlyList<SimulatedStage> SimulatedStages { get; init; } =
        [new SimulatedStage("*", TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(50), null, 0, false)];

    public static RuntimeSettings Create(Config config)
    {
        var c = config.GetConfig("akkakube.runtime") ?? Config.Empty;
        var images = new Dictionary<string, ImageEntry>(StringComparer.Ordinal);
        var imagesConfig = c.GetConfig("images");
        if (imagesConfig is not null && !imagesConfig.IsEmpty)
        {
            foreach (var (key, value) in imagesConfig.AsEnumerable())
            {
                var name = key.Trim('"');
                var obj = value.GetObject();
                var command = obj.GetKey("command")?.GetStringList() ?? [];
                if (command.Count == 0)
                    throw new ConfigurationException($"akkakube.runtime.images.\"{name}\".command must be a non-empty list");
                var args = obj.GetKey("args")?.GetStringList() ?? [];
                images[name] = new ImageEntry(command.ToList(), args.ToList());
            }
        }

        var maxBytes = c.GetByteSize("log.max-size", 10 * 1024 * 1024) ?? 10 * 1024 * 1024;
        if (maxBytes < 1024) throw new ConfigurationException("akkakube.runtime.log.max-size must be at least 1 KiB");
        var maxFiles = c.GetInt("log.max-files", 1);
        if (maxFiles < 0) throw new ConfigurationException("akkakube.runtime.log.max-files must be >= 0");

        var stages = new List<SimulatedStage>();
        if (c.HasPath("simulated.stages"))
        {
            foreach (var stage in c.GetValue("simulated.stages").GetArray())
            {
                var o = stage.GetObject();
                string Str(string k, string d) => o.GetKey(k)?.GetString() ?? d;
                TimeSpan Dur(string k, TimeSpan d) => o.GetKey(k) is { } v ? v.GetTimeSpan() : d;
                var runFor = o.GetKey("run-for") is { } rf && rf.GetString() is not ("infinite" or "inf" or "") ? rf.GetTimeSpan() : (TimeSpan?)null;
                var s = new SimulatedStage(
                    Str("image", "*"),
                    Dur("start-delay", TimeSpan.FromMilliseconds(50)),
                    Dur("start-jitter", TimeSpan.Zero),
                    runFor,
                    o.GetKey("exit-code")?.GetInt() ?? 0,
                    o.GetKey("pull-fails")?.GetBoolean() ?? false);
                if (s.StartDelay < TimeSpan.Zero || s.StartJitter < TimeSpan.Zero)
                    throw new ConfigurationException("akkakube.runtime.simulated.stages: start-delay and start-jitter must be >= 0");
                stages.Add(s);
            }
        }

        return new RuntimeSettings
        {
            Images = images,
            LogMaxBytes = maxBytes,
            LogMaxFiles = maxFiles,
            SimulatedSeed = c.GetInt("simulated.seed", 1),
            SimulatedStages = stages.Count > 0 ? stages : new RuntimeSettings().SimulatedStages,
        };
    }
}

/// <summary>Resolves an image (and the container's command/args) to a command line, as the image table says.</summary>
public static class ImageTable
{
    /// <summary>Placeholder in image commands for the node binary itself (built-in images).</summary>
    public const string NodeBinaryPlaceholder = "$NODE_BINARY";

    /// <summary>argv for the container, or null when the image is unknown and the container has no command.</summary>
    public static IReadOnlyList<string>? Resolve(IReadOnlyDictionary<string, ImageEntry> images, string image, IReadOnlyList<string> command, IReadOnlyList<string> args)
    {
        var entry = Lookup(images, image);
        IReadOnlyList<string> cmd;
        IReadOnlyList<string> arguments;
        if (command.Count > 0)
        {
            cmd = command;
            arguments = args;
        }
        else if (entry is not null)
        {
            cmd = entry.Command;
            arguments = args.Count > 0 ? args : entry.Args;
        }
        else return null;

        var argv = new List<string>();
        foreach (var part in cmd.Concat(arguments))
        {
            if (part == NodeBinaryPlaceholder) argv.AddRange(NodeBinary.CommandLine());
            else argv.Add(part);
        }
        return argv;
    }

    public static ImageEntry? Lookup(IReadOnlyDictionary<string, ImageEntry> images, string image)
    {
        if (images.TryGetValue(image, out var e)) return e;
        var withoutTag = StripTag(image);
        return images.TryGetValue(withoutTag, out e) ? e : null;
    }

    public static string StripTag(string image)
    {
        var at = image.IndexOf('@');
        if (at >= 0) image = image[..at];
        var slash = image.LastIndexOf('/');
        var colon = image.LastIndexOf(':');
        return colon > slash ? image[..colon] : image;
    }
}

/// <summary>Where the node binary is (built-in images run it as <c>akkakube-node run-image …</c>).</summary>
public static class NodeBinary
{
    /// <summary>Override (tests, bench); otherwise found beside the running assemblies.</summary>
    public static IReadOnlyList<string>? Override { get; set; }

    public static IReadOnlyList<string> CommandLine()
    {
        if (Override is { Count: > 0 } o) return o;
        var dir = AppContext.BaseDirectory;
        var exe = Path.Combine(dir, "akkakube-node");
        if (File.Exists(exe)) return [exe];
        var dll = Path.Combine(dir, "akkakube-node.dll");
        return ["dotnet", dll];
    }
}
