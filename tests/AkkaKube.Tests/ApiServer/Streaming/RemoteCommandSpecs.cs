using System.Text;
using AkkaKube.Actors.ApiServer.Streaming;

namespace AkkaKube.Tests.ApiServer.Streaming;

/// <summary>The remote-command channel framing (channel.k8s.io) as client-go's WebSocket executor reads and writes it.</summary>
public sealed class RemoteCommandSpecs
{
    [Theory]
    [InlineData("v5.channel.k8s.io", "v5.channel.k8s.io")]
    [InlineData("v4.channel.k8s.io, v5.channel.k8s.io", "v5.channel.k8s.io")]
    [InlineData("v4.channel.k8s.io", "v4.channel.k8s.io")]
    [InlineData("channel.k8s.io", null)]
    [InlineData("SPDY/3.1+portforward.k8s.io", null)]
    public void The_server_picks_its_preferred_offered_protocol(string offered, string? expected) =>
        Assert.Equal(expected, RemoteCommand.Negotiate(offered.Split(", ")));

    [Fact]
    public void An_output_frame_is_the_channel_byte_then_the_data()
    {
        Assert.Equal(new byte[] { 1, (byte)'h', (byte)'i' }, RemoteCommand.Frame(RemoteCommand.Stdout, "hi"u8));
        Assert.Equal(new byte[] { 2 }, RemoteCommand.Frame(RemoteCommand.Stderr, []));
    }

    [Fact]
    public void Client_messages_are_stdin_resize_or_v5s_close_of_a_channel()
    {
        var stdin = RemoteCommand.Parse(new byte[] { 0, 65, 66 }, RemoteCommand.V5);
        Assert.Equal(RemoteCommand.IncomingKind.Stdin, stdin.Kind);
        Assert.Equal("AB", Encoding.ASCII.GetString(stdin.Data.Span));

        var close = RemoteCommand.Parse(new byte[] { 255, 0 }, RemoteCommand.V5);
        Assert.Equal((RemoteCommand.IncomingKind.CloseChannel, RemoteCommand.Stdin), (close.Kind, close.Channel));
        // v4 has no close signal: 255 is an unknown channel there
        Assert.Equal(RemoteCommand.IncomingKind.Ignored, RemoteCommand.Parse(new byte[] { 255, 0 }, RemoteCommand.V4).Kind);

        Assert.Equal(RemoteCommand.IncomingKind.Resize, RemoteCommand.Parse("\u0004{\"Width\":80,\"Height\":24}"u8.ToArray(), RemoteCommand.V5).Kind);
        Assert.Equal(RemoteCommand.IncomingKind.Ignored, RemoteCommand.Parse(Array.Empty<byte>(), RemoteCommand.V5).Kind);
    }

    [Fact]
    public void The_error_channel_carries_success_or_the_exit_code_as_kubectl_decodes_it()
    {
        Assert.Equal("""{"metadata":{},"status":"Success"}""", RemoteCommand.ExitStatus(0).ToJsonString());
        var failed = RemoteCommand.ExitStatus(3);
        Assert.Equal("Failure", failed["status"]!.GetValue<string>());
        Assert.Equal("NonZeroExitCode", failed["reason"]!.GetValue<string>());
        var cause = failed["details"]!["causes"]![0]!;
        Assert.Equal(("ExitCode", "3"), (cause["reason"]!.GetValue<string>(), cause["message"]!.GetValue<string>()));
        // kubectl parses the cause as an 8-bit exit status
        Assert.Equal("1", RemoteCommand.ExitStatus(257)["details"]!["causes"]![0]!["message"]!.GetValue<string>());
        Assert.Equal("InternalError", RemoteCommand.ExitStatus(0, "the kubelet went away")["reason"]!.GetValue<string>());
    }
}
