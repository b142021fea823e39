using System.Security.Cryptography;
using System.Text;

namespace AkkaKube.Actors.ApiServer;

/// <summary>A user the apiserver knows by its bearer token.</summary>
public sealed record TokenUser(string Name, string Uid, IReadOnlyList<string> Groups);

/// <summary>
/// kube-apiserver's <c>--token-auth-file</c>: one user per line, <c>token,user,uid[,"group1,group2"]</c>; blank lines
/// and <c>#</c> comments are skipped. Tokens are compared in constant time.
/// </summary>
public sealed class StaticTokenFile
{
    private readonly IReadOnlyList<(byte[] Token, TokenUser User)> _entries;

    private StaticTokenFile(IReadOnlyList<(byte[], TokenUser)> entries) => _entries = entries;

    public int Count => _entries.Count;

    /// <summary>Reads the file; a malformed line throws <see cref="FormatException"/> naming the line.</summary>
    public static StaticTokenFile Load(string path)
    {
        var entries = new List<(byte[], TokenUser)>();
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
            entries.Add((Encoding.UTF8.GetBytes(fields[0]), new TokenUser(fields[1], fields[2], groups)));
        }
        if (entries.Count == 0) throw new FormatException("no token in the file");
        return new StaticTokenFile(entries);
    }

    /// <summary>The user of an <c>Authorization: Bearer …</c> header, or null.</summary>
    public TokenUser? Authenticate(string? authorization)
    {
        const string bearer = "Bearer ";
        if (authorization is null || !authorization.StartsWith(bearer, StringComparison.OrdinalIgnoreCase)) return null;
        var presented = Encoding.UTF8.GetBytes(authorization[bearer.Length..].Trim());
        TokenUser? found = null;
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

/// <summary>
/// The apiserver's authentication: off without a token file (loopback development, as `up` runs it); with one, every
/// request needs a known bearer token except the health and version endpoints anonymous users may read in Kubernetes.
/// </summary>
public sealed class ApiAuthentication(StaticTokenFile? tokens)
{
    private static readonly string[] Public = ["/healthz", "/livez", "/readyz", "/version"];

    public bool Enabled => tokens is not null;

    public bool Allows(string path, string? authorization)
    {
        if (tokens is null) return true;
        if (Public.Any(p => path == p || path.StartsWith(p + "/", StringComparison.Ordinal))) return true;
        return tokens.Authenticate(string.IsNullOrEmpty(authorization) ? null : authorization) is not null;
    }
}
