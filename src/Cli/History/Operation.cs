namespace AkkaKube.Cli.History;

public enum OpKind { Create, Get, Update, Delete }

/// <summary>How a call returned. Unknown: the client never learned the outcome (timeout, connection lost).</summary>
public enum OpOutcome { Ok, NotFound, AlreadyExists, Conflict, Unknown }

/// <summary>
/// One client call against one key, as recorded by a history client: invoke and return times
/// (any monotonic clock, e.g. Stopwatch ticks), the input and what came back.
/// Value is the writer's unique token for create/update, and what a get read; ResourceVersion is the
/// precondition of an update (input) and the revision returned by create/update/get (output).
/// </summary>
public sealed record Operation(
    int Client,
    string Key,
    OpKind Kind,
    long Invoke,
    long Return,
    OpOutcome Outcome,
    string? Value = null,
    string? ExpectedResourceVersion = null,
    string? ResourceVersion = null)
{
    public bool Indeterminate => Outcome == OpOutcome.Unknown;
}
