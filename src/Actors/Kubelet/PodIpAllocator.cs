using System.Net;

namespace AkkaKube.Actors.Kubelet;

/// <summary>
/// Pod IPs from the node's /24 pod CIDR: .2 to .254 (.0 network, .1 gateway-by-convention and .255 broadcast
/// are skipped), handed out round-robin so a released address is reused as late as possible. The kubelet
/// releases an IP only after the pod's worker stopped, i.e. after every process with that IP is gone.
/// </summary>
public sealed class PodIpAllocator
{
    private readonly byte[] _prefix;
    private readonly Dictionary<string, int> _byUid = new(StringComparer.Ordinal);
    private readonly bool[] _used = new bool[256];
    private int _cursor = 1;

    public PodIpAllocator(string cidr)
    {
        var parts = cidr.Split('/');
        if (parts.Length != 2 || parts[1] != "24" || !IPAddress.TryParse(parts[0], out var ip) || ip.GetAddressBytes().Length != 4)
            throw new ArgumentException($"pod CIDR '{cidr}' must be an IPv4 /24", nameof(cidr));
        _prefix = ip.GetAddressBytes()[..3];
        Cidr = cidr;
    }

    public string Cidr { get; }
    public int InUse => _byUid.Count;

    public bool Contains(string ip) =>
        IPAddress.TryParse(ip, out var a) && a.GetAddressBytes() is { Length: 4 } b && b[0] == _prefix[0] && b[1] == _prefix[1] && b[2] == _prefix[2];

    /// <summary>The pod's IP (the same one again for the same uid); <paramref name="preferred"/> is kept when free. Null when full.</summary>
    public string? Allocate(string uid, string? preferred = null)
    {
        if (_byUid.TryGetValue(uid, out var have)) return Format(have);
        if (preferred is not null && Contains(preferred))
        {
            var last = IPAddress.Parse(preferred).GetAddressBytes()[3];
            if (last is >= 2 and <= 254 && !_used[last]) return Take(uid, last);
        }
        for (var i = 0; i < 253; i++)
        {
            _cursor = _cursor >= 254 ? 2 : _cursor + 1;
            if (!_used[_cursor]) return Take(uid, _cursor);
        }
        return null;
    }

    public void Release(string uid)
    {
        if (_byUid.Remove(uid, out var last)) _used[last] = false;
    }

    private string Take(string uid, int last)
    {
        _used[last] = true;
        _byUid[uid] = last;
        return Format(last);
    }

    private string Format(int last) => $"{_prefix[0]}.{_prefix[1]}.{_prefix[2]}.{last}";
}
