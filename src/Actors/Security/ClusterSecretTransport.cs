using System.Security.Cryptography;
using System.Text;
using Akka.Actor;
using Akka.Event;
using Akka.Remote.Transport;
using Google.Protobuf;

namespace AkkaKube.Actors.Security;

/// <summary>
/// The cluster secret every node keeps in DATA/pki/remoting.secret (0600, created with the CA). Nodes prove it to each
/// other on every remoting connection (<see cref="ClusterSecretTransport"/>), so a process that can reach a remoting
/// port but cannot read the data directory (a pod, another user) can neither join nor send a message.
/// </summary>
public static class RemotingSecret
{
    public const int Length = 32;

    public static string FileOf(string dataDir) => Path.Combine(ClusterCa.PkiDirectory(dataDir), "remoting.secret");

    /// <summary>The secret file of <paramref name="dataDir"/>, created on first use (once, also when nodes start together).</summary>
    public static string EnsureFile(string dataDir)
    {
        var pki = ClusterCa.PkiDirectory(dataDir);
        PrivateFiles.EnsureDirectory(dataDir);
        PrivateFiles.EnsureDirectory(pki);
        var file = FileOf(dataDir);
        PrivateFiles.WithLock(Path.Combine(pki, ".lock"), () =>
        {
            if (!File.Exists(file)) PrivateFiles.WriteAllText(file, Convert.ToBase64String(RandomNumberGenerator.GetBytes(Length)) + "\n");
            return 0;
        });
        return file;
    }

    public static byte[] Read(string file)
    {
        string text;
        try { text = File.ReadAllText(file).Trim(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"cannot read the cluster's remoting secret '{file}': {e.Message}", e);
        }
        byte[] secret;
        try { secret = Convert.FromBase64String(text); }
        catch (FormatException) { throw new InvalidOperationException($"the remoting secret '{file}' is not base64"); }
        if (secret.Length < 16) throw new InvalidOperationException($"the remoting secret '{file}' has {secret.Length} bytes; at least 16 are needed");
        return secret;
    }
}

/// <summary>
/// Akka.Remote transport adapter (HOCON <c>akka.remote.adapters</c>, created by Akka with no arguments) that wraps the
/// DotNetty transport in <see cref="ClusterSecretTransport"/>; the secret file is <c>akkakube.remoting.secret-file</c>.
/// </summary>
public sealed class ClusterSecretTransportProvider : ITransportAdapterProvider
{
    public Transport Create(Transport wrappedTransport, ExtendedActorSystem system)
    {
        var config = system.Settings.Config;
        var secret = RemotingSecret.Read(config.GetString("akkakube.remoting.secret-file", ""));
        var timeout = config.GetTimeSpan("akkakube.remoting.secret-handshake-timeout", TimeSpan.FromSeconds(10), allowInfinite: false);
        return new ClusterSecretTransport(wrappedTransport, system, secret, timeout);
    }
}

/// <summary>
/// A transport that admits only peers knowing the cluster secret. Before Akka's own association handshake, each new
/// connection runs a mutual challenge–response: the client sends a fresh nonce, the server answers with its own nonce
/// and an HMAC-SHA256 over both, the client answers with its HMAC. Neither side sends the secret, a recorded exchange
/// cannot be replayed (fresh nonces on both sides), and a failed proof closes the connection: the server logs a
/// warning and keeps running; the client's association fails like a refused connection (Akka gates and retries), so a
/// peer killed mid-handshake never takes a survivor down (unlike a failed TLS handshake, see docs/security.md).
/// Addresses keep the wrapped transport's scheme.
/// </summary>
public sealed class ClusterSecretTransport : Transport
{
    private readonly Transport _wrapped;
    private readonly byte[] _secret;
    private readonly TimeSpan _timeout;
    private readonly ILoggingAdapter _log;

    public ClusterSecretTransport(Transport wrapped, ActorSystem system, byte[] secret, TimeSpan timeout)
    {
        _wrapped = wrapped;
        _secret = secret;
        _timeout = timeout;
        _log = Logging.GetLogger(system, typeof(ClusterSecretTransport));
        System = system;
        Config = wrapped.Config;
        SchemeIdentifier = wrapped.SchemeIdentifier;
        MaximumPayloadBytes = wrapped.MaximumPayloadBytes;
    }

    public override bool IsResponsibleFor(Address remote) => _wrapped.IsResponsibleFor(remote);

    public override Task<bool> ManagementCommand(object message) => _wrapped.ManagementCommand(message);

    public override Task<bool> Shutdown() => _wrapped.Shutdown();

    public override async Task<(Address, TaskCompletionSource<IAssociationEventListener>)> Listen()
    {
        var (address, wrappedListener) = await _wrapped.Listen().ConfigureAwait(false);
        var upstream = new TaskCompletionSource<IAssociationEventListener>(TaskCreationOptions.RunContinuationsAsynchronously);
        wrappedListener.TrySetResult(new InboundGate(this, upstream.Task));
        return (address, upstream);
    }

    public override async Task<AssociationHandle> Associate(Address remoteAddress)
    {
        var handle = await _wrapped.Associate(remoteAddress).ConfigureAwait(false);
        var handshake = new Handshake(this, handle, client: true);
        handle.ReadHandlerSource.TrySetResult(handshake);
        handshake.Start();
        try
        {
            return await handshake.Completed.ConfigureAwait(false);
        }
        catch (SecretHandshakeException e)
        {
            handle.Disassociate(e.Message, _log);
            throw new InvalidAssociationException($"remoting peer {remoteAddress} refused: {e.Message}");
        }
    }

    /// <summary>Runs the server side of the handshake for every inbound connection; only proven ones reach Akka.</summary>
    private sealed class InboundGate(ClusterSecretTransport transport, Task<IAssociationEventListener> upstream) : IAssociationEventListener
    {
        public void Notify(IAssociationEvent ev)
        {
            if (ev is not InboundAssociation inbound)
            {
                upstream.ContinueWith(t => t.Result.Notify(ev), TaskContinuationOptions.OnlyOnRanToCompletion);
                return;
            }
            var handle = inbound.Association;
            var handshake = new Handshake(transport, handle, client: false);
            handle.ReadHandlerSource.TrySetResult(handshake);
            handshake.Start();
            handshake.Completed.ContinueWith(done =>
            {
                if (done.IsCompletedSuccessfully)
                    upstream.ContinueWith(t => t.Result.Notify(new InboundAssociation(done.Result)), TaskContinuationOptions.OnlyOnRanToCompletion);
                else
                {
                    var why = done.Exception?.InnerException?.Message ?? "handshake failed";
                    transport._log.Warning("refused a remoting connection from {0}: {1}", handle.RemoteAddress, why);
                    handle.Disassociate(why, transport._log);
                }
            }, TaskContinuationOptions.ExecuteSynchronously);
        }
    }

    /// <summary>
    /// One connection's challenge–response, then the relay of its payloads to Akka's listener. Notify is called by the
    /// transport's I/O thread of this connection; the lock orders it with the timer and the upstream registration.
    /// </summary>
    private sealed class Handshake : IHandleEventListener
    {
        private static readonly byte[] Magic = "AKKS1"u8.ToArray();
        private const int NonceLength = 32;
        private const int MacLength = 32;

        private readonly ClusterSecretTransport _transport;
        private readonly AssociationHandle _wrapped;
        private readonly bool _client;
        private readonly TaskCompletionSource<AssociationHandle> _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly object _gate = new();
        private readonly Queue<IHandleEvent> _early = new();
        private readonly byte[] _ownNonce = RandomNumberGenerator.GetBytes(NonceLength);
        private byte[]? _peerNonce;
        private Timer? _timer;
        private int _step;
        private SecretAssociationHandle? _authenticated;
        private IHandleEventListener? _upstream;

        public Handshake(ClusterSecretTransport transport, AssociationHandle wrapped, bool client)
        {
            _transport = transport;
            _wrapped = wrapped;
            _client = client;
        }

        public Task<AssociationHandle> Completed => _completed.Task;

        public void Start()
        {
            lock (_gate)
            {
                _timer = new Timer(_ => Fail($"no proof of the cluster secret within {_transport._timeout.TotalSeconds:0.#}s"), null, _transport._timeout, Timeout.InfiniteTimeSpan);
                if (_client) _wrapped.Write(ByteString.CopyFrom([.. Magic, .. _ownNonce]));
            }
        }

        public void Notify(IHandleEvent ev)
        {
            lock (_gate)
            {
                if (_authenticated is not null)
                {
                    if (_upstream is null) _early.Enqueue(ev);
                    else _upstream.Notify(ev);
                    return;
                }
                if (_completed.Task.IsCompleted) return; // failed: the connection is being closed
                if (ev is not InboundPayload payload)
                {
                    FailLocked("the connection closed during the handshake");
                    return;
                }
                Step(payload.Payload.Span);
            }
        }

        private void Step(ReadOnlySpan<byte> message)
        {
            switch (_client, _step)
            {
                case (false, 0): // hello: magic + client nonce
                    if (message.Length != Magic.Length + NonceLength || !message[..Magic.Length].SequenceEqual(Magic))
                    {
                        FailLocked("it did not start the cluster-secret handshake (a process outside the cluster, or an AkkaKube without the secret)");
                        return;
                    }
                    _peerNonce = message[Magic.Length..].ToArray();
                    _wrapped.Write(ByteString.CopyFrom([.. _ownNonce, .. Mac("server", _peerNonce, _ownNonce)]));
                    _step = 1;
                    return;
                case (false, 1): // the client's proof
                    if (!CryptographicOperations.FixedTimeEquals(message, Mac("client", _peerNonce!, _ownNonce)))
                    {
                        FailLocked("its proof of the cluster secret is wrong (a different secret)");
                        return;
                    }
                    Succeed();
                    return;
                case (true, 0): // the server's nonce and proof
                    if (message.Length != NonceLength + MacLength)
                    {
                        FailLocked("the peer did not answer the cluster-secret handshake");
                        return;
                    }
                    _peerNonce = message[..NonceLength].ToArray();
                    if (!CryptographicOperations.FixedTimeEquals(message[NonceLength..], Mac("server", _ownNonce, _peerNonce)))
                    {
                        FailLocked("the peer's proof of the cluster secret is wrong (a different secret)");
                        return;
                    }
                    _wrapped.Write(ByteString.CopyFrom(Mac("client", _ownNonce, _peerNonce)));
                    Succeed();
                    return;
                default:
                    FailLocked("unexpected handshake message");
                    return;
            }
        }

        /// <summary>HMAC-SHA256(secret, role ‖ client nonce ‖ server nonce): the role keeps one side's proof from serving as the other's.</summary>
        private byte[] Mac(string role, byte[] clientNonce, byte[] serverNonce) =>
            HMACSHA256.HashData(_transport._secret, (byte[])[.. Encoding.ASCII.GetBytes(role), .. clientNonce, .. serverNonce]);

        private void Succeed()
        {
            _timer?.Dispose();
            _authenticated = new SecretAssociationHandle(_wrapped);
            // Akka registers its listener on the handle it is given; payloads that arrive before that wait here, in order.
            _authenticated.ReadHandlerSource.Task.ContinueWith(t =>
            {
                lock (_gate)
                {
                    while (_early.TryDequeue(out var ev)) t.Result.Notify(ev);
                    _upstream = t.Result;
                }
            }, TaskContinuationOptions.OnlyOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously);
            _completed.TrySetResult(_authenticated);
        }

        private void Fail(string why)
        {
            lock (_gate) FailLocked(why);
        }

        private void FailLocked(string why)
        {
            if (_authenticated is not null) return;
            _timer?.Dispose();
            _completed.TrySetException(new SecretHandshakeException(why));
        }
    }

    private sealed class SecretAssociationHandle(AssociationHandle wrapped) : AssociationHandle(wrapped.LocalAddress, wrapped.RemoteAddress)
    {
        public override bool Write(ByteString payload) => wrapped.Write(payload);

#pragma warning disable CS0672, CS0618 // the parameterless Disassociate is the one Akka's reasoned overload ends in
        public override void Disassociate() => wrapped.Disassociate();
#pragma warning restore CS0672, CS0618
    }

    private sealed class SecretHandshakeException(string message) : Exception(message);
}
