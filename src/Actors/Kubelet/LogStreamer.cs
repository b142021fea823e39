using System.Text;
using Akka.Actor;
using AkkaKube.Actors.Runtime;

namespace AkkaKube.Actors.Kubelet;

/// <summary>
/// Streams one container log file to an asker as <see cref="KubeletProtocol.LogChunk"/>s and one final
/// <see cref="KubeletProtocol.LogEnd"/>. With follow it polls the file until told the container instance
/// ended, the asker died, or the pod worker stopped.
/// </summary>
public sealed class LogStreamer : ReceiveActor, IWithTimers
{
    public sealed class ContainerEnded { public static readonly ContainerEnded Instance = new(); }

    private sealed class Poll { public static readonly Poll Instance = new(); }

    private const int ChunkBytes = 64 * 1024;
    private readonly string? _path;
    private readonly KubeletProtocol.GetLogs _request;
    private readonly IActorRef _replyTo;
    private readonly bool _follow;
    private readonly TimeSpan _pollInterval;
    private long _offset;
    private bool _ended;

    public ITimerScheduler Timers { get; set; } = null!;

    public LogStreamer(string? path, KubeletProtocol.GetLogs request, IActorRef replyTo, bool follow, TimeSpan pollInterval)
    {
        _path = path;
        _request = request;
        _replyTo = replyTo;
        _follow = follow;
        _pollInterval = pollInterval;
        Receive<Poll>(_ => ReadMore());
        Receive<ContainerEnded>(_ =>
        {
            ReadMore();
            End();
        });
        Receive<Terminated>(_ => Context.Stop(Self));
    }

    public static Props Props(string? path, KubeletProtocol.GetLogs request, IActorRef replyTo, bool follow, TimeSpan pollInterval) =>
        Akka.Actor.Props.Create(() => new LogStreamer(path, request, replyTo, follow, pollInterval));

    protected override void PreStart()
    {
        if (_path is not null)
        {
            DateTimeOffset? since = _request.SinceSeconds is { } s ? DateTimeOffset.UtcNow.AddSeconds(-s) : null;
            var tail = _request.TailLines is { } t ? (int)Math.Clamp(t, 0, int.MaxValue) : (int?)null;
            var (lines, offset) = ContainerLogReader.ReadAll(_path, tail, since);
            _offset = offset;
            Send(lines);
        }
        if (!_follow || _path is null)
        {
            End();
            return;
        }
        Context.Watch(_replyTo);
        Timers.StartPeriodicTimer("poll", Poll.Instance, _pollInterval);
    }

    protected override void PostStop()
    {
        if (!_ended) _replyTo.Tell(KubeletProtocol.LogEnd.Ok);
    }

    private void ReadMore()
    {
        if (_path is null || _ended) return;
        var (lines, end) = ContainerLogReader.ReadFrom(_path, _offset);
        _offset = end;
        Send(lines);
    }

    private void Send(List<LogLine> lines)
    {
        var sb = new StringBuilder();
        foreach (var line in lines)
        {
            sb.Append(line.Format(_request.Timestamps));
            if (sb.Length >= ChunkBytes)
            {
                _replyTo.Tell(new KubeletProtocol.LogChunk(sb.ToString()));
                sb.Clear();
            }
        }
        if (sb.Length > 0) _replyTo.Tell(new KubeletProtocol.LogChunk(sb.ToString()));
    }

    private void End()
    {
        if (_ended) return;
        _ended = true;
        _replyTo.Tell(KubeletProtocol.LogEnd.Ok);
        Context.Stop(Self);
    }
}
