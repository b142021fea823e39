using System.Text;

namespace AkkaKube.Actors.Proxy;

/// <summary>Writes an nft script (tables, chains, sets and maps) with tab indentation, as `nft list` prints it.</summary>
public sealed class NftWriter
{
    private readonly StringBuilder _text = new();
    private int _depth;

    public void Line(string line) => _text.Append('\t', _depth).Append(line).Append('\n');
    public void Blank() => _text.Append('\n');

    public void Open(string header)
    {
        Line(header + " {");
        _depth++;
    }

    public void Close()
    {
        _depth--;
        Line("}");
    }

    /// <summary>A chain: its hook line (base chains) and its rules.</summary>
    public void Chain(string name, string? hook, IReadOnlyList<string> rules)
    {
        Open($"chain {name}");
        if (hook is not null) Line(hook);
        foreach (var r in rules) Line(r);
        Close();
    }

    /// <summary>A set or map (<paramref name="kind"/>) of <paramref name="type"/>, with flags and its elements (none: declared empty).</summary>
    public void Set(string kind, string name, string type, string? flags, IReadOnlyList<string> elements)
    {
        Open($"{kind} {name}");
        Line($"type {type}");
        if (flags is not null) Line(flags);
        if (elements.Count > 0)
        {
            Line("elements = {");
            for (var i = 0; i < elements.Count; i++) Line($"\t{elements[i]}{(i < elements.Count - 1 ? "," : "")}");
            Line("}");
        }
        Close();
    }

    public override string ToString() => _text.ToString();
}
