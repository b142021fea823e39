using AkkaKube.Actors.Scheduler;

namespace AkkaKube.Tests.Scheduler;

public class SchedulingQueueTests
{
    private DateTime _now = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    private SchedulingQueue NewQueue() => new(new SchedulerSettings(), () => _now);

    [Fact]
    public void Pods_pop_by_priority_then_first_come()
    {
        var q = NewQueue();
        q.Add(Make.Pod().Name("a").Info());
        _now += TimeSpan.FromMilliseconds(1);
        q.Add(Make.Pod().Name("b").Priority(10).Info());
        _now += TimeSpan.FromMilliseconds(1);
        q.Add(Make.Pod().Name("c").Info());
        Assert.Equal(["b", "a", "c"], new[] { q.Pop()!.Name, q.Pop()!.Name, q.Pop()!.Name });
        Assert.Null(q.Pop());
    }

    [Fact]
    public void Back_off_starts_at_one_second_and_doubles_to_ten()
    {
        var q = NewQueue();
        Assert.Equal([1, 2, 4, 8, 10, 10], Enumerable.Range(1, 6).Select(a => q.BackoffDuration(a).TotalSeconds));
    }

    [Fact]
    public void A_failed_binding_waits_its_back_off_before_it_is_active_again()
    {
        var q = NewQueue();
        q.Add(Make.Pod().Name("a").Info());
        q.Pop();
        q.AddBackoff("default/a");
        Assert.Equal(SchedulingQueue.Where.Backoff, q.Locate("default/a"));
        _now += TimeSpan.FromMilliseconds(500);
        q.Flush();
        Assert.Null(q.Pop());
        _now += TimeSpan.FromMilliseconds(600);
        q.Flush();
        Assert.Equal("a", q.Pop()!.Name);
    }

    [Fact]
    public void An_unschedulable_pod_waits_for_a_cluster_event()
    {
        var q = NewQueue();
        q.Add(Make.Pod().Name("a").Info());
        q.Pop();
        q.AddUnschedulable("default/a");
        _now += TimeSpan.FromSeconds(30);
        q.Flush();
        Assert.Equal(SchedulingQueue.Where.Unschedulable, q.Locate("default/a"));
        q.MoveAllToActiveOrBackoff();
        Assert.Equal(SchedulingQueue.Where.Active, q.Locate("default/a"));
    }

    [Fact]
    public void A_cluster_event_during_the_attempt_sends_the_pod_to_back_off_not_unschedulable()
    {
        var q = NewQueue();
        q.Add(Make.Pod().Name("a").Info());
        q.Pop();
        q.MoveAllToActiveOrBackoff(); // e.g. a node was added while the cycle ran
        q.AddUnschedulable("default/a");
        Assert.Equal(SchedulingQueue.Where.Backoff, q.Locate("default/a"));
    }

    [Fact]
    public void Unschedulable_pods_are_retried_after_the_maximum_wait_even_without_events()
    {
        var q = NewQueue();
        q.Add(Make.Pod().Name("a").Info());
        q.Pop();
        q.AddUnschedulable("default/a");
        _now += TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1);
        q.Flush();
        Assert.Equal("a", q.Pop()!.Name);
    }

    [Fact]
    public void Deleting_a_pod_removes_it_from_every_sub_queue()
    {
        var q = NewQueue();
        q.Add(Make.Pod().Name("a").Info());
        q.Delete("default/a");
        Assert.Null(q.Pop());
        Assert.Null(q.Locate("default/a"));
    }
}
