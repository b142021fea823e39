using System.Collections.Concurrent;
using Akka.Actor;

namespace AkkaKube.Actors.Cmd;

/// <summary>
/// The palettes one node's command host serves (an ActorSystem extension, so any component can register
/// a palette at start-up without knowing about the host): <c>CmdPaletteRegistry.Get(system).Register(palette)</c>,
/// or from Akka.Hosting <c>builder.AddCmdPalette(sys => new MyPalette(...))</c>. Names are unique; a second
/// registration under the same name replaces the first (so a restarted component can re-register).
/// </summary>
public sealed class CmdPaletteRegistry : IExtension
{
    private readonly ConcurrentDictionary<string, ICmdPalette> _palettes = new(StringComparer.Ordinal);

    public static CmdPaletteRegistry Get(ActorSystem system) => system.WithExtension<CmdPaletteRegistry, CmdPaletteRegistryProvider>();

    public void Register(ICmdPalette palette)
    {
        if (string.IsNullOrWhiteSpace(palette.Name) || palette.Name != palette.Name.ToLowerInvariant() || palette.Name.Contains(' '))
            throw new ArgumentException($"palette name '{palette.Name}' must be one lower-case word", nameof(palette));
        _palettes[palette.Name] = palette;
    }

    public ICmdPalette? Find(string name) => _palettes.GetValueOrDefault(name);

    public IReadOnlyList<ICmdPalette> All => _palettes.Values.OrderBy(p => p.Name, StringComparer.Ordinal).ToList();
}

public sealed class CmdPaletteRegistryProvider : ExtensionIdProvider<CmdPaletteRegistry>
{
    public override CmdPaletteRegistry CreateExtension(ExtendedActorSystem system) => new();
}
