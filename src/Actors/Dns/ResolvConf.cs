using System.Net;

namespace AkkaKube.Actors.Dns;

/// <summary>
/// A resolver configuration (resolv.conf(5)): nameservers, search domains and options. Parsed from the host's file
/// (the DNS server's upstreams; pods with dnsPolicy Default) and rendered into pods' files by the kubelet.
/// </summary>
public sealed record ResolvConf(IReadOnlyList<string> Nameservers, IReadOnlyList<string> Searches, IReadOnlyList<string> Options)
{
    public static readonly ResolvConf Empty = new([], [], []);

    /// <summary>Parses resolv.conf text as glibc does: the last search/domain line wins, options accumulate, comments (# ;) skipped.</summary>
    public static ResolvConf Parse(string text)
    {
        var servers = new List<string>();
        IReadOnlyList<string> searches = [];
        var options = new List<string>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';') continue;
            var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            switch (fields[0])
            {
                case "nameserver" when fields.Length > 1:
                    servers.Add(fields[1]);
                    break;
                case "search":
                case "domain":
                    searches = fields.Skip(1).ToList();
                    break;
                case "options":
                    options.AddRange(fields.Skip(1));
                    break;
            }
        }
        return new ResolvConf(servers, searches, options);
    }

    /// <summary>The host's file, or <see cref="Empty"/> when it cannot be read.</summary>
    public static ResolvConf Load(string path)
    {
        try
        {
            return Parse(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Empty;
        }
    }

    /// <summary>The nameservers that are addresses, on port 53 (as the resolver uses them).</summary>
    public IReadOnlyList<IPEndPoint> NameserverEndpoints() =>
        Nameservers.Select(s => IPAddress.TryParse(s, out var ip) ? new IPEndPoint(ip, 53) : null).OfType<IPEndPoint>().ToList();

    public string Render()
    {
        var text = new System.Text.StringBuilder();
        foreach (var s in Nameservers) text.Append("nameserver ").Append(s).Append('\n');
        if (Searches.Count > 0) text.Append("search ").Append(string.Join(' ', Searches)).Append('\n');
        if (Options.Count > 0) text.Append("options ").Append(string.Join(' ', Options)).Append('\n');
        return text.ToString();
    }
}
