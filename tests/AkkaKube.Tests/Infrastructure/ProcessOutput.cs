using System.Text;

namespace AkkaKube.Tests.Infrastructure;

/// <summary>
/// A child process's output lines, appended from its reader threads and read from the test's:
/// StringBuilder is not safe to read while another thread appends, so both sides take the lock.
/// </summary>
public sealed class ProcessOutput
{
    private readonly StringBuilder _text = new();

    public void Add(string? line)
    {
        if (line is null) return;
        lock (_text) _text.AppendLine(line);
    }

    public override string ToString()
    {
        lock (_text) return _text.ToString();
    }
}
