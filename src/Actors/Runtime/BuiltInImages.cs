using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace AkkaKube.Actors.Runtime;

/// <summary>
/// Images built into the node binary (<c>akkakube-node run-image &lt;image&gt; …</c>):
/// <list type="bullet">
/// <item><c>akkakube/echo</c>: a small HTTP/1.1 server on $POD_IP:$PORT (default 8080) answering
/// "pod=… namespace=… ip=… node=… path=…"; <c>/healthz</c> (200, or 500 after <c>/healthz/off</c>),
/// <c>/ready</c> (200, or 503 after <c>/ready/off</c>; <c>/ready/on</c> flips back), <c>/crash</c> (exit 1),
/// <c>/exit/N</c> (exit N), <c>/hang</c> (stops answering). SIGTERM → exit 0, unless ECHO_IGNORE_SIGTERM=1.</item>
/// <item><c>akkakube/pause</c>: sleeps until SIGTERM, then exits 0.</item>
/// </list>
/// </summary>
public static class BuiltInImages
{
    public const string Echo = "akkakube/echo";
    public const string Pause = "akkakube/pause";

    /// <summary>Entry point for <c>run-image</c>; returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0)
        {
            await Console.Error.WriteLineAsync("usage: akkakube-node run-image akkakube/echo|akkakube/pause [--port N]");
            return 2;
        }
        var image = ImageTable.StripTag(args[0]);
        return image switch
        {
            Echo => await RunEchoAsync(args[1..]),
            Pause => await RunPauseAsync(),
            _ => Unknown(image),
        };
    }

    private static int Unknown(string image)
    {
        Console.Error.WriteLine($"run-image: unknown built-in image '{image}' (built in: {Echo}, {Pause})");
        return 2;
    }

    private static async Task<int> RunPauseAsync()
    {
        var done = new TaskCompletionSource<int>();
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; done.TrySetResult(0); });
        using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => { ctx.Cancel = true; done.TrySetResult(0); });
        return await done.Task;
    }

    private sealed class EchoState
    {
        public volatile bool Ready = true;
        public volatile bool Healthy = true;
        public volatile bool Hanging;
    }

    /// <summary>The first IPv4 address of an interface that is up and not loopback: a container's eth0.</summary>
    private static string? OwnAddress() =>
        System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus != System.Net.NetworkInformation.OperationalStatus.Down
                        && n.NetworkInterfaceType != System.Net.NetworkInformation.NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))?.ToString();

    private static async Task<int> RunEchoAsync(string[] args)
    {
        var env = Environment.GetEnvironmentVariables();
        string Env(string k, string d) => env[k] as string is { Length: > 0 } v ? v : d;
        // The process runtime gives POD_IP (pods share the node's network stack); in its own network namespace (the
        // akkakube/echo image on cri) the server listens on every address and names the pod's own.
        var inOwnNamespace = Env("POD_IP", "") == "";
        var ipText = Env("POD_IP", "0.0.0.0");
        var portText = Env("PORT", "8080");
        for (var i = 0; i < args.Length - 1; i++)
            if (args[i] == "--port") portText = args[i + 1];
        if (!IPAddress.TryParse(ipText, out var ip) || !int.TryParse(portText, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            await Console.Error.WriteLineAsync($"echo: bad POD_IP '{ipText}' or port '{portText}'");
            return 2;
        }
        var shownIp = inOwnNamespace ? OwnAddress() ?? ipText : ip.ToString();
        var pod = Env("AKKAKUBE_POD_NAME", Env("HOSTNAME", "unknown"));
        var ns = Env("AKKAKUBE_POD_NAMESPACE", "default");
        var node = Env("AKKAKUBE_NODE_NAME", "unknown");
        var ignoreTerm = Env("ECHO_IGNORE_SIGTERM", "0") is "1" or "true";

        var exit = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
        {
            ctx.Cancel = true;
            Console.WriteLine(ignoreTerm ? "echo: received SIGTERM, ignoring it" : "echo: received SIGTERM, shutting down");
            if (!ignoreTerm) exit.TrySetResult(0);
        });

        var listener = new TcpListener(ip, port);
        try
        {
            listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Start(512);
        }
        catch (SocketException e)
        {
            await Console.Error.WriteLineAsync($"echo: cannot listen on {ip}:{port}: {e.Message}");
            return 1;
        }
        Console.WriteLine($"echo: listening on {ip}:{port} (pod {ns}/{pod} at {shownIp} on node {node})");
        var state = new EchoState();
        _ = Task.Run(async () =>
        {
            while (!exit.Task.IsCompleted)
            {
                Socket socket;
                try { socket = await listener.AcceptSocketAsync(); }
                catch (Exception e) when (e is SocketException or ObjectDisposedException) { break; }
                _ = Task.Run(() => ServeAsync(socket, state, exit, pod, ns, shownIp, node));
            }
        });
        var code = await exit.Task;
        listener.Stop();
        Console.Out.Flush();
        return code;
    }

    private static readonly HttpClient Upstream = new() { Timeout = TimeSpan.FromSeconds(5) };

    private static async Task<(bool Ok, string Answer)> RelayAsync(string url)
    {
        try
        {
            using var response = await Upstream.GetAsync(url);
            var text = (await response.Content.ReadAsStringAsync()).Trim();
            return response.IsSuccessStatusCode ? (true, text) : (false, $"error HTTP {(int)response.StatusCode} from {url}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or InvalidOperationException or UriFormatException)
        {
            return (false, $"error {e.Message} ({url})");
        }
    }

    private static async Task ServeAsync(Socket socket, EchoState state, TaskCompletionSource<int> exit, string pod, string ns, string ip, string node)
    {
        using var _ = socket;
        if (state.Hanging) { await exit.Task; return; }
        using var stream = new NetworkStream(socket, ownsSocket: false);
        var buffer = new byte[8192];
        var read = 0;
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (read < buffer.Length)
            {
                var n = await stream.ReadAsync(buffer.AsMemory(read), cts.Token);
                if (n == 0) break;
                read += n;
                if (buffer.AsSpan(0, read).IndexOf("\r\n\r\n"u8) >= 0) break;
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException) { return; }
        var head = Encoding.ASCII.GetString(buffer, 0, read);
        var requestLine = head.Split("\r\n", 2)[0].Split(' ');
        if (requestLine.Length < 2) return;
        var method = requestLine[0];
        var path = requestLine[1];
        var remote = socket.RemoteEndPoint?.ToString() ?? "?";
        Console.WriteLine($"echo: {method} {path} from {remote}");

        int status = 200;
        string body;
        var exitCode = -1;
        var p = path.Split('?', 2)[0];
        switch (p)
        {
            case "/healthz":
                (status, body) = state.Healthy ? (200, "ok\n") : (500, "unhealthy\n");
                break;
            case "/healthz/off": state.Healthy = false; body = "healthz off\n"; break;
            case "/healthz/on": state.Healthy = true; body = "healthz on\n"; break;
            case "/ready":
                (status, body) = state.Ready ? (200, "ready\n") : (503, "not ready\n");
                break;
            case "/ready/off": state.Ready = false; body = "ready off\n"; break;
            case "/ready/on": state.Ready = true; body = "ready on\n"; break;
            case "/crash": body = "crashing\n"; exitCode = 1; break;
            case "/hang":
                state.Hanging = true;
                Console.WriteLine("echo: hanging (no more answers)");
                await exit.Task;
                return;
            default:
                if (p.StartsWith("/exit/", StringComparison.Ordinal) && int.TryParse(p[6..], CultureInfo.InvariantCulture, out var c))
                {
                    body = $"exiting {c}\n";
                    exitCode = c;
                }
                else
                {
                    body = $"pod={pod} namespace={ns} ip={ip} node={node} path={path}\n";
                    // Relay mode (examples/guestbook frontend): also ask $UPSTREAM and append its answer.
                    if (p == "/" && Environment.GetEnvironmentVariable("UPSTREAM") is { Length: > 0 } upstream)
                    {
                        var (ok, answer) = await RelayAsync(upstream);
                        body += $"upstream: {answer}\n";
                        if (!ok) status = 502;
                    }
                }
                break;
        }
        var reason = status switch { 200 => "OK", 500 => "Internal Server Error", 502 => "Bad Gateway", 503 => "Service Unavailable", _ => "OK" };
        var bodyBytes = Encoding.UTF8.GetBytes(body);
        var response = Encoding.ASCII.GetBytes(
            $"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {bodyBytes.Length}\r\nConnection: close\r\n\r\n");
        try
        {
            await stream.WriteAsync(response);
            if (method != "HEAD") await stream.WriteAsync(bodyBytes);
            await stream.FlushAsync();
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is IOException or SocketException) { }
        if (exitCode >= 0)
        {
            Console.WriteLine($"echo: exiting with code {exitCode} as asked");
            Console.Out.Flush();
            Environment.Exit(exitCode);
        }
    }
}
