using System.Globalization;
using Cronos;

namespace AkkaKube.Actors.Controllers.CronJob;

/// <summary>
/// A CronJob schedule with Kubernetes' (robfig/cron standard parser) semantics: five fields (minute hour day-of-month
/// month day-of-week) with ranges, lists, steps, '?' and month/day names, the descriptors @yearly @annually @monthly
/// @weekly @daily @midnight @hourly, and "@every &lt;duration&gt;". Next times come from Cronos in the CronJob's time zone.
/// When both day fields are restricted a day matching either runs (classic cron's OR), computed as the earlier of two
/// expressions so it does not depend on the library's own rule.
/// </summary>
public sealed class CronSchedule
{
    private static readonly string[] Descriptors = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"];
    private static readonly string[] Months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
    private static readonly string[] Days = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

    private readonly CronExpression[] _expressions;
    private readonly TimeSpan? _every;

    private CronSchedule(CronExpression[] expressions, TimeSpan? every)
    {
        _expressions = expressions;
        _every = every;
    }

    public static CronSchedule Parse(string text) =>
        TryParse(text, out var s, out var error) ? s! : throw new FormatException(error);

    /// <summary>Parses a schedule; on failure <paramref name="error"/> says why (the message shown in the 422).</summary>
    public static bool TryParse(string text, out CronSchedule? schedule, out string? error)
    {
        schedule = null;
        var s = text.Trim();
        if (s.StartsWith("TZ=", StringComparison.Ordinal) || s.StartsWith("CRON_TZ=", StringComparison.Ordinal))
        {
            error = "cannot use TZ or CRON_TZ in schedule, use timeZone field instead";
            return false;
        }
        if (s.StartsWith("@every ", StringComparison.Ordinal))
        {
            if (!TryParseGoDuration(s[7..].Trim(), out var every) || every < TimeSpan.FromSeconds(1))
            {
                error = $"failed to parse duration {s}";
                return false;
            }
            schedule = new CronSchedule([], every);
            error = null;
            return true;
        }
        if (s.StartsWith('@'))
        {
            if (!Descriptors.Contains(s.ToLowerInvariant()))
            {
                error = $"unrecognized descriptor: {s}";
                return false;
            }
            schedule = new CronSchedule([CronExpression.Parse(s.ToLowerInvariant() == "@annually" ? "@yearly" : s.ToLowerInvariant())], null);
            error = null;
            return true;
        }
        var fields = s.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length != 5)
        {
            error = $"expected exactly 5 fields, found {fields.Length}: {s}";
            return false;
        }
        for (var i = 0; i < 5; i++)
            if (!FieldIsStandard(fields[i], i, out error)) return false;
        try
        {
            var dom = fields[2];
            var dow = fields[4];
            CronExpression[] exprs = IsStar(dom) || IsStar(dow)
                ? [CronExpression.Parse(string.Join(' ', fields))]
                : [CronExpression.Parse($"{fields[0]} {fields[1]} {dom} {fields[3]} *"), CronExpression.Parse($"{fields[0]} {fields[1]} * {fields[3]} {dow}")];
            schedule = new CronSchedule(exprs, null);
            error = null;
            return true;
        }
        catch (CronFormatException e)
        {
            error = e.Message;
            return false;
        }
    }

    /// <summary>robfig treats a day field as unrestricted only when it is "*" or "?" (a step such as "*/2" restricts it).</summary>
    private static bool IsStar(string field) => field is "*" or "?" or "*/1";

    /// <summary>Only what the standard parser accepts: numbers, '*', '?', names in the month/day fields, with ',', '-', '/'.</summary>
    private static bool FieldIsStandard(string field, int position, out string? error)
    {
        string[] names = position == 3 ? Months : position == 4 ? Days : [];
        foreach (var part in field.Split(','))
        {
            var slash = part.Split('/');
            if (slash.Length > 2 || (slash.Length == 2 && !uint.TryParse(slash[1], NumberStyles.None, CultureInfo.InvariantCulture, out _)))
            {
                error = $"failed to parse int from {part}";
                return false;
            }
            foreach (var token in slash[0].Split('-'))
                if (token is not ("*" or "?") && !uint.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out _)
                    && !names.Contains(token.ToUpperInvariant()))
                {
                    error = $"failed to parse int from {token}: invalid syntax";
                    return false;
                }
        }
        error = null;
        return true;
    }

    /// <summary>The first scheduled time strictly after <paramref name="afterUtc"/>, in <paramref name="zone"/> (UTC result).</summary>
    public DateTime? Next(DateTime afterUtc, TimeZoneInfo zone)
    {
        afterUtc = DateTime.SpecifyKind(afterUtc, DateTimeKind.Utc);
        if (_every is { } every)
        {
            // robfig's ConstantDelaySchedule: the delay added, rounded down to the second
            var t = afterUtc + every;
            return new DateTime(t.Ticks - t.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Utc);
        }
        DateTime? best = null;
        foreach (var e in _expressions)
            if (NextOf(e, afterUtc, zone) is { } n && (best is null || n < best)) best = n;
        return best;
    }

    /// <summary>
    /// Cronos moves a wall time that does not exist (the hour skipped when daylight saving starts) to the moment of
    /// the jump; Kubernetes' cron library skips it. So an occurrence whose wall-clock time the expression does not
    /// name is passed over.
    /// </summary>
    private static DateTime? NextOf(CronExpression e, DateTime afterUtc, TimeZoneInfo zone)
    {
        var from = afterUtc;
        for (var guard = 0; guard < 8; guard++)
        {
            if (e.GetNextOccurrence(from, zone) is not { } n) return null;
            var wall = DateTime.SpecifyKind(TimeZoneInfo.ConvertTimeFromUtc(n, zone), DateTimeKind.Utc);
            if (e.GetNextOccurrence(wall.AddTicks(-1), TimeZoneInfo.Utc) == wall) return n;
            from = n;
        }
        return null;
    }

    /// <summary>
    /// The most recent scheduled time in (<paramref name="earliestUtc"/>, <paramref name="nowUtc"/>], how many were
    /// missed in that window (at most <paramref name="countLimit"/> are counted), and the next one after now.
    /// </summary>
    public (DateTime? MostRecent, int Missed, DateTime? Next) MostRecent(DateTime earliestUtc, DateTime nowUtc, TimeZoneInfo zone, int countLimit = 100)
    {
        DateTime? recent = null;
        var missed = 0;
        var t = Next(earliestUtc, zone);
        // A long gap with a frequent schedule: skip ahead near now instead of walking every occurrence.
        if (t is { } first && Next(first, zone) is { } second && second > first)
        {
            var interval = second - first;
            var steps = (nowUtc - first).Ticks / interval.Ticks;
            if (steps > countLimit * 2)
            {
                missed = (int)Math.Min(steps, int.MaxValue);
                t = Next(nowUtc - interval * 2, zone);
            }
        }
        while (t is { } x && x <= nowUtc)
        {
            recent = x;
            if (missed < int.MaxValue) missed++;
            t = Next(x, zone);
        }
        return (recent, missed, t);
    }

    /// <summary>Go's time.ParseDuration for the units a schedule needs (h, m, s, ms, combined: "1h30m").</summary>
    public static bool TryParseGoDuration(string text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (text.Length == 0) return false;
        var i = 0;
        while (i < text.Length)
        {
            var start = i;
            while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.')) i++;
            if (start == i || !double.TryParse(text[start..i], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n)) return false;
            var unitStart = i;
            while (i < text.Length && char.IsAsciiLetter(text[i])) i++;
            var unit = text[unitStart..i];
            value += unit switch
            {
                "h" => TimeSpan.FromHours(n),
                "m" => TimeSpan.FromMinutes(n),
                "s" => TimeSpan.FromSeconds(n),
                "ms" => TimeSpan.FromMilliseconds(n),
                _ => TimeSpan.MinValue,
            };
            if (value < TimeSpan.Zero) return false;
        }
        return true;
    }

    /// <summary>
    /// An IANA zone (as Kubernetes' time.LoadLocation; "Local" is refused); null = unknown. Without a timeZone the
    /// controller-manager's own zone applies, as in Kubernetes.
    /// </summary>
    public static TimeZoneInfo? FindZone(string? id)
    {
        if (id is null) return TimeZoneInfo.Local;
        if (id.Length == 0) return null;
        if (id == "Local" || id.Contains(' ') || id.StartsWith('/') || id.Contains("..", StringComparison.Ordinal)) return null;
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            return null;
        }
    }
}
