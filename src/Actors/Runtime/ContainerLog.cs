using System.Globalization;
using System.Text;

namespace AkkaKube.Actors.Runtime;

/// <summary>
/// Container log files on the node: DATA/logs/pods/&lt;ns&gt;_&lt;pod&gt;_&lt;uid&gt;/&lt;container&gt;/&lt;restart&gt;.log,
/// one line per output line in the CRI log format: "&lt;RFC 3339 UTC time&gt; &lt;stdout|stderr&gt; &lt;F|P&gt; &lt;text&gt;"
/// (F a full line, P a partial one continued by the next), rotated by size into &lt;restart&gt;.log.1 … .N. The same
/// files containerd writes for the `cri` runtime (the sandbox's log directory is the pod directory).
/// </summary>
public static class ContainerLogPaths
{
    public static string PodDirectory(string dataDir, string ns, string pod, string uid) =>
        Path.Combine(dataDir, "logs", "pods", $"{ns}_{pod}_{uid}");

    public static string File(string dataDir, string ns, string pod, string uid, string container, int attempt) =>
        Path.Combine(PodDirectory(dataDir, ns, pod, uid), container, $"{attempt}.log");
}

/// <summary>Appends lines to a container log with size-based rotation. Thread-safe.</summary>
public sealed class ContainerLogWriter : IDisposable
{
    private readonly string _path;
    private readonly long _maxBytes;
    private readonly int _maxFiles;
    private readonly object _gate = new();
    private FileStream? _stream;
    private bool _disposed;

    public ContainerLogWriter(string path, long maxBytes, int maxFiles)
    {
        _path = path;
        _maxBytes = maxBytes;
        _maxFiles = maxFiles;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        _stream = Open();
    }

    private FileStream Open() => new(_path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);

    public void Write(string stream, string text, DateTimeOffset? at = null)
    {
        var line = $"{(at ?? DateTimeOffset.UtcNow).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture)} {stream} F {text}\n";
        var bytes = Encoding.UTF8.GetBytes(line);
        lock (_gate)
        {
            if (_disposed || _stream is null) return;
            try
            {
                if (_stream.Length + bytes.Length > _maxBytes && _stream.Length > 0)
                    Rotate();
                _stream.Write(bytes);
                _stream.Flush();
            }
            catch (IOException)
            {
                // A full disk must not take the container down; the line is lost.
            }
        }
    }

    private void Rotate()
    {
        _stream!.Dispose();
        if (_maxFiles <= 0)
        {
            System.IO.File.Delete(_path);
        }
        else
        {
            var oldest = $"{_path}.{_maxFiles}";
            if (System.IO.File.Exists(oldest)) System.IO.File.Delete(oldest);
            for (var i = _maxFiles - 1; i >= 1; i--)
                if (System.IO.File.Exists($"{_path}.{i}")) System.IO.File.Move($"{_path}.{i}", $"{_path}.{i + 1}");
            System.IO.File.Move(_path, $"{_path}.1");
        }
        _stream = Open();
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _stream?.Dispose();
            _stream = null;
        }
    }
}

/// <summary>One parsed log line (CRI format); <paramref name="Partial"/> = continued by the next line (tag P).</summary>
public readonly record struct LogLine(DateTimeOffset Time, string Stream, string Text, bool Partial = false)
{
    public static bool TryParse(string raw, out LogLine line)
    {
        line = default;
        var s1 = raw.IndexOf(' ');
        if (s1 <= 0) return false;
        var s2 = raw.IndexOf(' ', s1 + 1);
        if (s2 <= 0) return false;
        if (!DateTimeOffset.TryParse(raw.AsSpan(0, s1), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)) return false;
        var rest = raw[(s2 + 1)..];
        // The tag: F (full line) or P (partial); an empty full line is written as "F" alone.
        var partial = rest.StartsWith("P ", StringComparison.Ordinal) || rest == "P";
        var text = rest.StartsWith("F ", StringComparison.Ordinal) || partial ? rest[2..] : rest is "F" ? "" : rest;
        line = new LogLine(t, raw[(s1 + 1)..s2], text, partial);
        return true;
    }

    /// <summary>As kubectl shows it: the text, or with --timestamps the RFC 3339 time first; a partial line has no line end.</summary>
    public string Format(bool timestamps)
    {
        var end = Partial ? "" : "\n";
        return timestamps ? $"{Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture)} {Text}{end}" : Text + end;
    }
}

/// <summary>Reads container logs (rotated files first), with tail and since filters.</summary>
public static class ContainerLogReader
{
    public static IEnumerable<string> FilesOldestFirst(string path)
    {
        var rotated = new List<(int N, string P)>();
        var dir = Path.GetDirectoryName(path)!;
        if (Directory.Exists(dir))
        {
            var prefix = Path.GetFileName(path) + ".";
            foreach (var f in Directory.EnumerateFiles(dir, Path.GetFileName(path) + ".*"))
                if (Path.GetFileName(f) is var fn && fn.Length > prefix.Length && fn.StartsWith(prefix, StringComparison.Ordinal)
                    && int.TryParse(fn[prefix.Length..], out var n))
                    rotated.Add((n, f));
        }
        foreach (var (_, p) in rotated.OrderByDescending(r => r.N)) yield return p;
        if (File.Exists(path)) yield return path;
    }

    /// <summary>Reads all complete lines now present; returns them and the byte offset reached in the live file.</summary>
    public static (List<LogLine> Lines, long Offset) ReadAll(string path, int? tailLines, DateTimeOffset? since)
    {
        var lines = new List<LogLine>();
        long offset = 0;
        foreach (var file in FilesOldestFirst(path))
        {
            var (fileLines, end) = ReadFrom(file, 0);
            lines.AddRange(fileLines);
            if (file == path) offset = end;
        }
        IEnumerable<LogLine> result = lines;
        if (since is { } s) result = result.Where(l => l.Time >= s);
        var list = result.ToList();
        if (tailLines is { } t && t >= 0 && list.Count > t) list = list.GetRange(list.Count - t, t);
        return (list, offset);
    }

    /// <summary>Complete lines from a byte offset of one file, and the offset after the last complete line.</summary>
    public static (List<LogLine> Lines, long End) ReadFrom(string file, long offset)
    {
        var lines = new List<LogLine>();
        try
        {
            using var fs = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (fs.Length < offset) offset = 0; // rotated under us: start over in the new file
            fs.Seek(offset, SeekOrigin.Begin);
            var buffer = new byte[fs.Length - offset];
            var read = 0;
            while (read < buffer.Length)
            {
                var n = fs.Read(buffer, read, buffer.Length - read);
                if (n == 0) break;
                read += n;
            }
            var lastNewline = Array.LastIndexOf(buffer, (byte)'\n', Math.Max(0, read - 1));
            if (read == 0 || lastNewline < 0) return (lines, offset);
            var text = Encoding.UTF8.GetString(buffer, 0, lastNewline);
            foreach (var raw in text.Split('\n'))
                if (LogLine.TryParse(raw, out var l)) lines.Add(l);
            return (lines, offset + lastNewline + 1);
        }
        catch (FileNotFoundException) { return (lines, offset); }
        catch (DirectoryNotFoundException) { return (lines, offset); }
    }
}
