using System.Net;
using System.Security.Cryptography.X509Certificates;
using AkkaKube.Actors.Cluster;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;

namespace AkkaKube.Actors.Security;

/// <summary>Kestrel's side of the apiserver's TLS: the serving certificate, client certificates asked for but optional.</summary>
public static class ApiTls
{
    /// <summary>
    /// Clients may present a certificate (kubectl with the admin kubeconfig) or not (bearer tokens, anonymous health
    /// checks): TLS accepts any, and <see cref="ApiAuthenticator"/> decides, so a foreign certificate is a 401 Status
    /// the client can read rather than a broken handshake.
    /// </summary>
    public static HttpsConnectionAdapterOptions HttpsOptions(X509Certificate2 serving) => new()
    {
        ServerCertificate = serving,
        ClientCertificateMode = ClientCertificateMode.AllowCertificate,
        ClientCertificateValidation = (_, _, _) => true,
        CheckCertificateRevocation = false,
    };

    public static void LogStart(ILogger log, NodeOptions node, ApiAuthenticator authenticator)
    {
        if (!node.ApiTls)
        {
            log.LogWarning(
                "INSECURE: the apiserver serves plain HTTP on {Address}:{Port} (--insecure-http){Who}; anyone who can reach it {What}",
                node.ApiAddress, node.ApiPort, authenticator.Tokens ? " with bearer tokens only" : " without authentication",
                authenticator.Tokens ? "can read the tokens off the wire" : "is cluster-admin and can run processes on this machine");
            return;
        }
        var methods = new List<string>();
        if (authenticator.ClientCertificates) methods.Add("client certificates");
        if (authenticator.Tokens) methods.Add("bearer tokens");
        if (methods.Count == 0)
            log.LogWarning("INSECURE: the apiserver on https://{Address}:{Port} checks no credential (no client CA, no token file): every caller is cluster-admin",
                node.ApiAddress, node.ApiPort);
        else
            log.LogInformation("apiserver listening on https://{Address}:{Port} (authentication: {Methods}; anonymous: {Anonymous})",
                node.ApiAddress, node.ApiPort, string.Join(", ", methods), string.Join(" ", ApiAuthenticator.AnonymousPaths));
        if (!IPAddress.IsLoopback(node.ApiAddress))
            log.LogInformation("the apiserver is reachable off loopback on {Address}", node.ApiAddress);
    }
}
