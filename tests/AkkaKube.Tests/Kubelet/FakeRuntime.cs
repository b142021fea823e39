using System.Collections.Concurrent;
using AkkaKube.Actors.Runtime;

namespace AkkaKube.Tests.Kubelet;

/// <summary>
/// A container runtime whose behaviour is chosen by image: "test/run" runs until stopped, "test/crash" exits 1
/// at once, "test/ok" exits 0 at once, "test/stubborn" ignores SIGTERM, "test/missing" cannot be pulled.
/// exec: "true" succeeds, "hang" waits until cancelled or <see cref="ReleaseExecs"/>; each exec is noted in <see cref="Signals"/>
/// as "exec CONTAINER COMMAND" (so its order against TERM and KILL shows).
/// </summary>
public sealed class FakeRuntime : IContainerRuntime
{
    public ConcurrentQueue<ContainerLaunch> Launches { get; } = new();
    public ConcurrentDictionary<string, FakeContainer> Running { get; } = new();
    public ConcurrentQueue<string> Signals { get; } = new();

    public string Name => "fake";

    public IReadOnlyList<IRunningContainer> List(string? podUid = null) =>
        Running.Values.Where(c => podUid is null || c.Launch.PodUid == podUid).ToList<IRunningContainer>();

    public Task<IRunningContainer> StartAsync(ContainerLaunch launch, CancellationToken ct = default)
    {
        if (launch.Image == "test/missing")
            throw new ContainerStartException(ContainerStartException.ErrImagePull, "not in the image table");
        Launches.Enqueue(launch);
        var c = new FakeContainer(launch, this);
        Running[launch.ContainerId] = c;
        switch (launch.Image)
        {
            case "test/crash": _ = Task.Delay(20).ContinueWith(_ => c.Exit(1)); break;
            case "test/ok": _ = Task.Delay(20).ContinueWith(_ => c.Exit(0)); break;
        }
        return Task.FromResult<IRunningContainer>(c);
    }

    private TaskCompletionSource _execsReleased = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Lets every waiting "hang" exec succeed.</summary>
    public void ReleaseExecs() => _execsReleased.TrySetResult();

    public async Task<ExecResult> ExecAsync(IRunningContainer container, IReadOnlyList<string> command, TimeSpan timeout, CancellationToken ct = default)
    {
        Signals.Enqueue($"exec {container.Launch.ContainerName} {string.Join(' ', command)}");
        if (command.Count > 0 && command[0] == "hang")
        {
            await _execsReleased.Task.WaitAsync(timeout, ct);
            return new ExecResult(0, "");
        }
        return new ExecResult(command.Count > 0 && command[0] == "true" ? 0 : 1, command.Count > 0 && command[0] == "true" ? "" : "it failed");
    }

    public List<ContainerLaunch> LaunchesOf(string container) => Launches.Where(l => l.ContainerName == container).ToList();

    public sealed class FakeContainer(ContainerLaunch launch, FakeRuntime runtime) : IRunningContainer
    {
        private readonly TaskCompletionSource<ContainerExit> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public ContainerLaunch Launch { get; } = launch;
        public string ContainerId => Launch.ContainerId;
        public int? Pid => null;
        public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;
        public string ImageId => "fake://" + Launch.Image;
        public Task<ContainerExit> Exited => _exited.Task;
        public bool HasExited => _exited.Task.IsCompleted;

        public void Exit(int code)
        {
            if (_exited.TrySetResult(new ContainerExit(code, code == 0 ? "Completed" : "Error", DateTimeOffset.UtcNow)))
                runtime.Running.TryRemove(ContainerId, out _);
        }

        public void Terminate()
        {
            runtime.Signals.Enqueue($"TERM {Launch.ContainerName}");
            if (Launch.Image != "test/stubborn") Exit(0);
        }

        public void Kill()
        {
            runtime.Signals.Enqueue($"KILL {Launch.ContainerName}");
            Exit(137);
        }

        public ResourceUsage? Usage() => new(0.5, 1024 * 1024, DateTimeOffset.UtcNow);
    }
}
