namespace AkkaKube.Actors.Security;

/// <summary>
/// DATA/tokens.csv (0600), the apiserver's static token file (--token-auth-file) as `akkakube up` writes it: one bearer
/// token for the cluster administrator (akkakube-admin in system:masters), for clients that cannot present the
/// kubeconfig's client certificate — a browser opening the web view at /ui/. `up` prints it in the web view's address
/// (in the #fragment, which a browser never sends). docs/operations.md#web-view.
/// </summary>
public static class WebViewToken
{
    public const string FileName = "tokens.csv";

    public static string PathIn(string dataDir) => Path.Combine(dataDir, FileName);

    /// <summary>The administrator's token, creating the token file on first use.</summary>
    public static string LoadOrCreate(string dataDir) =>
        PrivateFiles.LoadOrCreateToken(PathIn(dataDir), () => TryRead(dataDir), token =>
            "# akkakube up: static bearer tokens (token,user,uid,\"groups\"), kube-apiserver's --token-auth-file format\n" +
            $"{token},{UserInfo.AdminName},{UserInfo.AdminName},\"{UserInfo.MastersGroup}\"\n");

    /// <summary>The administrator's token in <paramref name="dataDir"/>, or null.</summary>
    public static string? TryRead(string dataDir)
    {
        try
        {
            foreach (var line in File.ReadLines(PathIn(dataDir)))
            {
                var fields = line.Split(',');
                if (line.StartsWith('#') || fields.Length < 2) continue;
                if (fields[1].Trim() == UserInfo.AdminName && fields[0].Trim().Length > 0) return fields[0].Trim();
            }
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The address that opens the web view signed in: https://HOST:PORT/ui/#token=… (HOST 127.0.0.1 unless the apiserver is elsewhere).</summary>
    public static string Url(string scheme, int apiPort, string? token, string host = "127.0.0.1") =>
        $"{scheme}://{host}:{apiPort}/ui/" + (token is null ? "" : "#token=" + token);
}
