namespace AkkaKube.Actors.Controllers.ReplicaSet;

/// <summary>
/// Kubernetes' ControllerExpectations: after asking for N creates/deletes, a controller waits until its
/// informer has observed them (or the calls failed, or the expectations expired) before it trusts its cache
/// again — so a lagging watch never makes it create or delete twice. Thread-safe: API calls lower it on failure.
/// </summary>
public sealed class Expectations(TimeSpan timeout, Func<DateTime> now)
{
    private sealed record Entry(int Adds, int Deletes, DateTime Set);

    private readonly object _lock = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public void Expect(string key, int adds, int deletes)
    {
        lock (_lock) _entries[key] = new Entry(adds, deletes, now());
    }

    public void CreationObserved(string key) => Lower(key, 1, 0);
    public void DeletionObserved(string key) => Lower(key, 0, 1);

    public void Lower(string key, int adds, int deletes)
    {
        lock (_lock)
            if (_entries.TryGetValue(key, out var e))
                _entries[key] = e with { Adds = e.Adds - adds, Deletes = e.Deletes - deletes };
    }

    /// <summary>True when nothing is outstanding (or never set, or expired): the cache can be trusted.</summary>
    public bool Satisfied(string key)
    {
        lock (_lock)
        {
            if (!_entries.TryGetValue(key, out var e)) return true;
            return (e.Adds <= 0 && e.Deletes <= 0) || now() - e.Set > timeout;
        }
    }

    public void Delete(string key)
    {
        lock (_lock) _entries.Remove(key);
    }
}
