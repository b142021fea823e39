namespace AkkaKube.Actors.Scheduler.Framework;

/// <summary>
/// The outcome of a plugin call, as in kube-scheduler. The code decides what the scheduler does next.
/// </summary>
public enum StatusCode
{
    /// <summary>The plugin ran and the pod may continue (fits the node, or the score is valid).</summary>
    Success,

    /// <summary>An internal failure (bad input, a bug). The pod goes to back-off and is retried; not a node verdict.</summary>
    Error,

    /// <summary>
    /// The pod does not fit this node now, but could if the cluster changes (pods leave, preemption).
    /// The pod waits in the unschedulable queue until a node or pod event, then back-off.
    /// </summary>
    Unschedulable,

    /// <summary>
    /// The pod does not fit this node and preempting pods on it would not help (e.g. a taint, a node selector).
    /// Also parked as unschedulable; preemption skips such nodes.
    /// </summary>
    UnschedulableAndUnresolvable,

    /// <summary>
    /// From PreFilter/PreScore: this plugin has nothing to do for this pod; its Filter/Score are skipped in this cycle.
    /// </summary>
    Skip,
}

/// <summary>A plugin's verdict: a code, the reasons (shown to users in the FitError message) and the plugin's name.</summary>
public sealed record Status(StatusCode Code, IReadOnlyList<string> Reasons, string? Plugin = null)
{
    public static readonly Status SuccessStatus = new(StatusCode.Success, []);
    public static readonly Status SkipStatus = new(StatusCode.Skip, []);

    public bool IsSuccess => Code == StatusCode.Success;
    public bool IsSkip => Code == StatusCode.Skip;
    public bool IsRejected => Code is StatusCode.Unschedulable or StatusCode.UnschedulableAndUnresolvable;

    public static Status Unschedulable(params string[] reasons) => new(StatusCode.Unschedulable, reasons);
    public static Status Unresolvable(params string[] reasons) => new(StatusCode.UnschedulableAndUnresolvable, reasons);
    public static Status Fail(string message) => new(StatusCode.Error, [message]);

    public Status WithPlugin(string plugin) => Plugin == plugin ? this : this with { Plugin = plugin };

    public override string ToString() => $"{Code}: {string.Join(", ", Reasons)}";
}
