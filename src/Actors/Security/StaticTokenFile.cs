using System.Security.Cryptography;
using System.Text;

namespace AkkaKube.Actors.Security;

/// <summary>
/// kube-apiserver's <c>--token-auth-file</c>: one user per line, <c>token,user,uid[,"group1,group2"]</c>; blank lines
/// and <c>#</c> comments are skipped. Tokens are compared in constant time.
/// </summary>
public sealed class StaticTokenFile
{
    private readonly IReadOnlyList<(byte[] Token, UserInfo User)> _entries;

    private StaticTokenFile(IReadOnlyList<(byte[], UserInfo)> entries) => _entries = entries;

    public int Count => _entries.Count;

    /// <summary>Reads the file; a malformed line throws <see cref="FormatException"/> naming the line.</summary>
    public static StaticTokenFile Load(string path)
    {
        var entries = new List<(byte[], UserInfo)>();
        var lines = File.ReadAllLines(path);
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var fields = SplitCsv(line, i + 1);
            if (fields.Count < 3 || fields.Take(3).Any(string.IsNullOrWhiteSpace))
                throw new FormatException($"line {i + 1}: expected token,user,uid[,\"groups\"]");
            var groups = fields.Count > 3
                ? fields[3].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                : [];
            entries.Add((Encoding.UTF8.GetBytes(fields[0]), new UserInfo(fields[1], UserInfo.Authenticated(groups), fields[2])));
        }
        if (entries.Count == 0) throw new FormatException("no token in the file");
        return new StaticTokenFile(entries);
    }

    /// <summary>The user of an <c>Authorization: Bearer …</c> header, or null.</summary>
    public UserInfo? Authenticate(string? authorization)
    {
        const string bearer = "Bearer ";
        if (authorization is null || !authorization.StartsWith(bearer, StringComparison.OrdinalIgnoreCase)) return null;
        var presented = Encoding.UTF8.GetBytes(authorization[bearer.Length..].Trim());
        UserInfo? found = null;
        foreach (var (token, user) in _entries)
            if (CryptographicOperations.FixedTimeEquals(token, presented)) found ??= user;
        return found;
    }

    private static List<string> SplitCsv(string line, int lineNumber)
    {
        var fields = new List<string>();
        var current = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { current.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else current.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { fields.Add(current.ToString().Trim()); current.Clear(); }
            else current.Append(c);
        }
        if (quoted) throw new FormatException($"line {lineNumber}: unterminated quote");
        fields.Add(current.ToString().Trim());
        return fields;
    }
}
