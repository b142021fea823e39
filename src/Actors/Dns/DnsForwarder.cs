using System.Net;
using ARSoft.Tools.Net.Dns;

namespace AkkaKube.Actors.Dns;

/// <summary>
/// Forwards questions outside the cluster zone to the upstream resolvers (the host's /etc/resolv.conf by default) and
/// caches their answers for the answer's smallest TTL, at most <see cref="DnsSettings.CacheMaxTtl"/>; negative answers
/// for the SOA's minimum (RFC 2308), same cap. The cache holds at most <see cref="DnsSettings.CacheSize"/> entries and
/// drops the least recently used. Thread-safe: the server's threads call it concurrently.
/// </summary>
public sealed class DnsForwarder : IDisposable
{
    private readonly IReadOnlyList<DnsClient> _clients;
    private readonly AnswerCache _cache;
    private readonly DnsSettings _settings;

    public IReadOnlyList<IPEndPoint> Upstreams { get; }

    public DnsForwarder(IReadOnlyList<IPEndPoint> upstreams, DnsSettings settings, Func<DateTime>? clock = null)
    {
        Upstreams = upstreams;
        _settings = settings;
        _cache = new AnswerCache(settings.CacheSize, clock ?? (() => DateTime.UtcNow));
        var timeout = (int)settings.ForwardTimeout.TotalMilliseconds;
        // One client per upstream port (the library's transports carry the port).
        _clients = upstreams.GroupBy(u => u.Port)
            .Select(g => new DnsClient(g.Select(u => u.Address).ToList(),
                [new UdpClientTransport(g.Key), new TcpClientTransport(g.Key)], true, timeout))
            .ToList();
    }

    public int CachedEntries => _cache.Count;

    /// <summary>The upstream's answer (from the cache when fresh), or null when no upstream answered.</summary>
    public async Task<CachedAnswer?> ForwardAsync(DnsQuestion question, CancellationToken ct)
    {
        var key = $"{question.Name.ToString().ToLowerInvariant()}|{(int)question.RecordType}|{(int)question.RecordClass}";
        if (_cache.TryGet(key, out var hit)) return hit;
        foreach (var client in _clients)
        {
            DnsMessage? answer;
            try
            {
                answer = await client.ResolveAsync(question.Name, question.RecordType, question.RecordClass, token: ct);
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or TimeoutException or OperationCanceledException)
            {
                continue;
            }
            if (answer is null || answer.ReturnCode is ReturnCode.ServerFailure or ReturnCode.Refused) continue;
            var result = new CachedAnswer(answer.ReturnCode, answer.AnswerRecords.ToList(), answer.AuthorityRecords.ToList(),
                answer.AdditionalRecords.Where(r => r.RecordType != RecordType.Opt).ToList());
            var ttl = CacheTtl(result);
            if (ttl > TimeSpan.Zero) _cache.Put(key, result, ttl);
            return result;
        }
        return null;
    }

    private TimeSpan CacheTtl(CachedAnswer a)
    {
        int seconds;
        if (a.Answers.Count > 0) seconds = a.Answers.Min(r => r.TimeToLive);
        else if (a.Authority.OfType<SoaRecord>().FirstOrDefault() is { } soa) seconds = Math.Min(soa.TimeToLive, soa.NegativeCachingTTL);
        else seconds = 0;
        var ttl = TimeSpan.FromSeconds(Math.Max(0, seconds));
        return ttl < _settings.CacheMaxTtl ? ttl : _settings.CacheMaxTtl;
    }

    public void Dispose()
    {
        foreach (var c in _clients) (c as IDisposable)?.Dispose();
    }
}

/// <summary>An upstream answer as kept in the cache.</summary>
public sealed record CachedAnswer(ReturnCode Code, IReadOnlyList<DnsRecordBase> Answers, IReadOnlyList<DnsRecordBase> Authority, IReadOnlyList<DnsRecordBase> Additional);

/// <summary>A bounded LRU map whose entries expire (thread-safe by one lock: entries are small, hits are short).</summary>
public sealed class AnswerCache(int capacity, Func<DateTime> clock)
{
    private readonly Dictionary<string, LinkedListNode<(string Key, CachedAnswer Value, DateTime Expires)>> _map = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Key, CachedAnswer Value, DateTime Expires)> _order = new();
    private readonly Lock _lock = new();

    public int Count
    {
        get { lock (_lock) return _map.Count; }
    }

    public bool TryGet(string key, out CachedAnswer value)
    {
        lock (_lock)
        {
            if (_map.TryGetValue(key, out var node))
            {
                if (node.Value.Expires > clock())
                {
                    _order.Remove(node);
                    _order.AddFirst(node);
                    value = node.Value.Value;
                    return true;
                }
                _order.Remove(node);
                _map.Remove(key);
            }
        }
        value = null!;
        return false;
    }

    public void Put(string key, CachedAnswer value, TimeSpan ttl)
    {
        if (capacity == 0) return;
        lock (_lock)
        {
            if (_map.Remove(key, out var old)) _order.Remove(old);
            while (_map.Count >= capacity && _order.Last is { } last)
            {
                _order.RemoveLast();
                _map.Remove(last.Value.Key);
            }
            _map[key] = _order.AddFirst((key, value, clock() + ttl));
        }
    }
}
