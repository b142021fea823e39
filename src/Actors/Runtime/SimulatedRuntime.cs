using Akka.Actor;

namespace AkkaKube.Actors.Runtime;

/// <summary>
/// The hollow runtime: no process, the lifecycle is data (<see cref="SimulatedStage"/>): a container "starts"
/// after the stage's delay ± jitter (seeded RNG) and optionally "exits" after RunFor. Time comes from an
/// Akka <see cref="IScheduler"/> (tests pass a TestScheduler as the clock). Thousands of pods cost a few
/// small objects each.
/// </summary>
public sealed class SimulatedRuntime(RuntimeSettings settings, IScheduler scheduler) : IContainerRuntime
{
    private readonly Random _random = new(settings.SimulatedSeed);
    private readonly object _gate = new();
    private readonly RunningContainers _running = new();

    public string Name => "simulated";

    public IReadOnlyList<IRunningContainer> List(string? podUid = null) => _running.Of(podUid);

    public SimulatedStage StageFor(string image) =>
        settings.SimulatedStages.FirstOrDefault(s => s.Matches(image)) ?? settings.SimulatedStages[^1];

    public Task<IRunningContainer> StartAsync(ContainerLaunch launch, CancellationToken ct = default)
    {
        var stage = StageFor(launch.Image);
        if (stage.PullFails)
            throw new ContainerStartException(ContainerStartException.ErrImagePull, $"simulated: image \"{launch.Image}\" cannot be pulled");
        TimeSpan delay;
        lock (_gate)
            delay = stage.StartDelay + TimeSpan.FromTicks((long)(stage.StartJitter.Ticks * _random.NextDouble()));
        var started = new TaskCompletionSource<IRunningContainer>(TaskCreationOptions.RunContinuationsAsynchronously);
        Schedule(delay, () =>
        {
            var c = new SimulatedContainer(launch, scheduler.Now, scheduler);
            _running.Track(c);
            started.TrySetResult(c);
            if (stage.RunFor is { } runFor)
                Schedule(runFor, () => c.Exit(stage.ExitCode));
        });
        return started.Task;
    }

    private void Schedule(TimeSpan delay, Action action)
    {
        if (delay <= TimeSpan.Zero) action();
        else scheduler.Advanced.ScheduleOnce(delay, action);
    }

    public Task<ExecResult> ExecAsync(IRunningContainer container, IReadOnlyList<string> command, TimeSpan timeout, CancellationToken ct = default) =>
        Task.FromResult(new ExecResult(0, ""));

    private sealed class SimulatedContainer(ContainerLaunch launch, DateTimeOffset startedAt, IScheduler scheduler) : IRunningContainer
    {
        private readonly TaskCompletionSource<ContainerExit> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ContainerLaunch Launch { get; } = launch;
        public string ContainerId { get; } = launch.ContainerId;
        public int? Pid => null;
        public DateTimeOffset StartedAt { get; } = startedAt;
        public string ImageId { get; } = "simulated://" + ImageTable.StripTag(launch.Image);
        public Task<ContainerExit> Exited => _exited.Task;

        public void Exit(int code, string? signal = null) =>
            _exited.TrySetResult(new ContainerExit(code, code == 0 ? "Completed" : "Error", scheduler.Now, signal));

        // A simulated process honours SIGTERM at once.
        public void Terminate() => Exit(0, "SIGTERM");
        public void Kill() => Exit(137, "SIGKILL");
        public ResourceUsage? Usage() => null;
    }
}
