using AkkaKube.Actors.Scheduler.Framework;

namespace AkkaKube.Actors.Scheduler;

/// <summary>
/// kube-scheduler's PriorityQueue: activeQ (ready to schedule, highest priority then oldest first),
/// backoffQ (failed recently; waits 1 s doubling per attempt up to 10 s) and unschedulablePods (no node
/// fits; moved out by a cluster event — a node added or changed, a pod deleted or bound — or after
/// <see cref="SchedulerSettings.MaxInUnschedulable"/>). Pure and single-threaded; the clock is injected.
/// </summary>
public sealed class SchedulingQueue
{
    private sealed class QueuedPod(PodInfo pod, DateTime added)
    {
        public PodInfo Pod { get; set; } = pod;
        public DateTime InitialAttempt { get; } = added;
        public DateTime Timestamp { get; set; } = added;
        public int Attempts { get; set; }
        /// <summary>The move-request cycle when this pod's last attempt started (for the in-flight race).</summary>
        public long Cycle { get; set; }
    }

    public enum Where { Active, Backoff, Unschedulable, InFlight }

    private readonly SchedulerSettings _settings;
    private readonly Func<DateTime> _now;
    private readonly PriorityQueue<QueuedPod, (int, DateTime, long)> _active = new();
    private readonly Dictionary<string, QueuedPod> _activeSet = new(StringComparer.Ordinal);
    private readonly Dictionary<string, QueuedPod> _backoff = new(StringComparer.Ordinal);
    private readonly Dictionary<string, QueuedPod> _unschedulable = new(StringComparer.Ordinal);
    private readonly Dictionary<string, QueuedPod> _inFlight = new(StringComparer.Ordinal);
    private long _seq;
    private long _schedulingCycle;
    private long _moveRequestCycle = -1;

    public SchedulingQueue(SchedulerSettings settings, Func<DateTime> now)
    {
        _settings = settings;
        _now = now;
    }

    public int ActiveCount => _activeSet.Count;
    public int BackoffCount => _backoff.Count;
    public int UnschedulableCount => _unschedulable.Count;
    public int InFlightCount => _inFlight.Count;

    public Where? Locate(string key) =>
        _activeSet.ContainsKey(key) ? Where.Active
        : _backoff.ContainsKey(key) ? Where.Backoff
        : _unschedulable.ContainsKey(key) ? Where.Unschedulable
        : _inFlight.ContainsKey(key) ? Where.InFlight
        : null;

    /// <summary>A new unscheduled pod (or one seen again after a re-list).</summary>
    public void Add(PodInfo pod)
    {
        if (_inFlight.TryGetValue(pod.Key, out var f)) { f.Pod = pod; return; }
        if (Update(pod)) return;
        PushActive(new QueuedPod(pod, _now()));
    }

    /// <summary>Replaces the pod's object wherever it waits; an updated unschedulable pod gets another try. False if unknown.</summary>
    public bool Update(PodInfo pod)
    {
        if (_activeSet.TryGetValue(pod.Key, out var a)) { a.Pod = pod; return true; }
        if (_backoff.TryGetValue(pod.Key, out var b)) { b.Pod = pod; return true; }
        if (_inFlight.TryGetValue(pod.Key, out var f)) { f.Pod = pod; return true; }
        if (_unschedulable.Remove(pod.Key, out var u))
        {
            u.Pod = pod;
            if (IsBackingOff(u)) _backoff[pod.Key] = u;
            else PushActive(u);
            return true;
        }
        return false;
    }

    public void Delete(string key)
    {
        _activeSet.Remove(key);
        _backoff.Remove(key);
        _unschedulable.Remove(key);
        _inFlight.Remove(key);
    }

    /// <summary>The next pod to schedule, or null. The pod is in flight until Done / AddUnschedulable / AddBackoff.</summary>
    public PodInfo? Pop()
    {
        while (_active.TryDequeue(out var q, out _))
        {
            if (!_activeSet.TryGetValue(q.Pod.Key, out var current) || !ReferenceEquals(current, q)) continue;
            _activeSet.Remove(q.Pod.Key);
            q.Attempts++;
            q.Cycle = ++_schedulingCycle;
            _inFlight[q.Pod.Key] = q;
            return q.Pod;
        }
        return null;
    }

    /// <summary>The pod was scheduled (assumed); the queue forgets it.</summary>
    public void Done(string key) => _inFlight.Remove(key);

    /// <summary>
    /// No node fits. If a cluster event arrived while the pod was in flight the pod goes to back-off
    /// (the event may have made room), else it waits in unschedulable for the next event.
    /// </summary>
    public void AddUnschedulable(string key)
    {
        if (!_inFlight.Remove(key, out var q)) return;
        q.Timestamp = _now();
        if (_moveRequestCycle >= q.Cycle) _backoff[key] = q;
        else _unschedulable[key] = q;
    }

    /// <summary>An error (e.g. the binding failed): retry after back-off.</summary>
    public void AddBackoff(string key)
    {
        if (!_inFlight.Remove(key, out var q)) return;
        q.Timestamp = _now();
        _backoff[key] = q;
    }

    /// <summary>The back-off of a pod: initial × 2^(attempts−1), capped.</summary>
    public TimeSpan BackoffDuration(int attempts)
    {
        var d = _settings.InitialBackoff;
        for (var i = 1; i < attempts && d < _settings.MaxBackoff; i++) d += d;
        return d > _settings.MaxBackoff ? _settings.MaxBackoff : d;
    }

    private bool IsBackingOff(QueuedPod q) => q.Timestamp + BackoffDuration(q.Attempts) > _now();

    /// <summary>A cluster event that may make unschedulable pods fit: move them to active (or back-off if still backing off).</summary>
    public int MoveAllToActiveOrBackoff()
    {
        _moveRequestCycle = _schedulingCycle;
        var moved = _unschedulable.Count;
        foreach (var (key, q) in _unschedulable)
        {
            if (IsBackingOff(q)) _backoff[key] = q;
            else PushActive(q);
        }
        _unschedulable.Clear();
        return moved;
    }

    /// <summary>Periodic: back-off pods whose time is up go to active; pods unschedulable for too long are retried.</summary>
    public int Flush()
    {
        var now = _now();
        var moved = 0;
        foreach (var (key, q) in _backoff.Where(kv => !IsBackingOff(kv.Value)).ToList())
        {
            _backoff.Remove(key);
            PushActive(q);
            moved++;
        }
        foreach (var (key, q) in _unschedulable.Where(kv => now - kv.Value.Timestamp > _settings.MaxInUnschedulable).ToList())
        {
            _unschedulable.Remove(key);
            if (IsBackingOff(q)) _backoff[key] = q;
            else { PushActive(q); moved++; }
        }
        return moved;
    }

    private void PushActive(QueuedPod q)
    {
        _activeSet[q.Pod.Key] = q;
        // Higher priority first, then the oldest initial attempt (FIFO), then insertion order.
        _active.Enqueue(q, (-q.Pod.Priority, q.InitialAttempt, ++_seq));
    }
}
