using System.Collections.Concurrent;
using System.Net;

namespace AkkaKube.Actors.Proxy;

/// <summary>A backend a service port forwards to: an endpoint address and its resolved target port.</summary>
public sealed record Backend(IPAddress Address, int Port, string? NodeName = null, string? PodName = null)
{
    public IPEndPoint EndPoint => new(Address, Port);

    public override string ToString() => $"{Address}:{Port}";
}

/// <summary>How a listener picks backends: the backend set and the session affinity (ClientIP stickiness).</summary>
public sealed record BalancerRules(IReadOnlyList<Backend> Backends, TimeSpan? AffinityTimeout = null)
{
    public static readonly BalancerRules Empty = new([]);
}

/// <summary>
/// Chooses backends for new connections: round-robin over the current backend set, optionally sticky by
/// client IP (sessionAffinity: ClientIP) until the affinity times out or the backend leaves the set.
/// Thread-safe: the accept loop reads, the listener actor swaps the rules; a swap never touches
/// established connections (they hold their own backend socket).
/// </summary>
public sealed class EndpointBalancer
{
    private readonly Func<DateTimeOffset> _clock;
    private readonly ConcurrentDictionary<IPAddress, Sticky> _affinity = new();
    private volatile BalancerRules _rules;
    // Each proxy starts its rotation at a random backend: the kernel spreads connections over the proxies
    // sharing an address (SO_REUSEPORT), and rotations all starting at the first backend would pile up on it.
    private int _next = Random.Shared.Next();

    private sealed record Sticky(Backend Backend, DateTimeOffset LastUsed);

    public EndpointBalancer(BalancerRules rules, Func<DateTimeOffset>? clock = null)
    {
        _rules = rules;
        _clock = clock ?? (() => DateTimeOffset.UtcNow);
    }

    public BalancerRules Rules => _rules;

    public void Update(BalancerRules rules)
    {
        _rules = rules;
        if (rules.AffinityTimeout is null)
            _affinity.Clear();
        else
            foreach (var (client, sticky) in _affinity)
                if (!rules.Backends.Contains(sticky.Backend))
                    _affinity.TryRemove(client, out _);
    }

    /// <summary>
    /// The backends to try for a new connection from <paramref name="client"/>, best first: the sticky
    /// backend (if any and still present), else the next in round-robin order, then every other backend
    /// (so a refusing backend is skipped by trying the next).
    /// </summary>
    public IReadOnlyList<Backend> Candidates(IPAddress? client)
    {
        var rules = _rules;
        var backends = rules.Backends;
        if (backends.Count == 0) return [];
        var now = _clock();
        if (rules.AffinityTimeout is { } timeout && client is not null
            && _affinity.TryGetValue(client, out var sticky)
            && now - sticky.LastUsed <= timeout)
        {
            var index = IndexOf(backends, sticky.Backend);
            if (index >= 0) return Rotate(backends, index);
        }
        var start = (int)((uint)Interlocked.Increment(ref _next) % (uint)backends.Count);
        return Rotate(backends, start);
    }

    /// <summary>Tell the balancer which backend served <paramref name="client"/> (records affinity).</summary>
    public void Connected(IPAddress? client, Backend backend)
    {
        if (_rules.AffinityTimeout is null || client is null) return;
        _affinity[client] = new Sticky(backend, _clock());
    }

    private static int IndexOf(IReadOnlyList<Backend> backends, Backend backend)
    {
        for (var i = 0; i < backends.Count; i++)
            if (backends[i] == backend) return i;
        return -1;
    }

    private static Backend[] Rotate(IReadOnlyList<Backend> backends, int start)
    {
        var result = new Backend[backends.Count];
        for (var i = 0; i < result.Length; i++)
            result[i] = backends[(start + i) % backends.Count];
        return result;
    }
}
