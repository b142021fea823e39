using System.Text;
using System.Text.Json.Nodes;
using AkkaKube.Actors.Machinery;

namespace AkkaKube.Actors.ApiServer;

/// <summary>
/// Decodes `application/vnd.kubernetes.protobuf` request bodies (what `kubectl create
/// deployment|namespace|configmap|secret|service` sends) into JSON: the "k8s\0" envelope
/// (runtime.Unknown{1 typeMeta{1 apiVersion,2 kind}, 2 raw, 3 contentEncoding, 4 contentType}) and the
/// objects by the k8s.io/api field numbers written below. Fields not in the schema are reported as
/// warnings and skipped. The Go encoder writes non-pointer scalars even when empty, so empty/zero
/// values are dropped unless the field is a pointer in Go (KeepZero).
/// </summary>
public static class Protobuf
{
    public const string MediaType = "application/vnd.kubernetes.protobuf";
    private static readonly byte[] Magic = [0x6b, 0x38, 0x73, 0x00];

    public enum T { Str, Int32, Int64, Bool, Bytes, Msg, MapStr, MapBytes, MapMsg, IntOrStr, Time, Quantity }

    /// <summary>One field; a message field with Json "" is embedded inline (its fields become the parent's, as Go's json:",inline").</summary>
    public sealed record F(int Num, string Json, T Type, bool Repeated = false, string? Msg = null, bool KeepZero = false);

    public static Dictionary<int, F> M(params F[] fields) => fields.ToDictionary(f => f.Num);

    /// <summary>
    /// The messages shared by kinds (k8s.io/api numbering): metadata, selectors, pod templates. Each kind's own
    /// messages come from its strategy (<see cref="Registry.ResourceStrategy.ProtobufMessages"/>).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, Dictionary<int, F>> Common = new Dictionary<string, Dictionary<int, F>>
    {
        ["ObjectMeta"] = M(
            new F(1, "name", T.Str), new F(2, "generateName", T.Str), new F(3, "namespace", T.Str),
            new F(4, "selfLink", T.Str), new F(5, "uid", T.Str), new F(6, "resourceVersion", T.Str), new F(7, "generation", T.Int64),
            new F(8, "creationTimestamp", T.Time), new F(11, "labels", T.MapStr), new F(12, "annotations", T.MapStr),
            new F(13, "ownerReferences", T.Msg, true, "OwnerReference"), new F(14, "finalizers", T.Str, Repeated: true)),
        ["OwnerReference"] = M(
            new F(5, "apiVersion", T.Str), new F(1, "kind", T.Str), new F(3, "name", T.Str), new F(4, "uid", T.Str),
            new F(6, "controller", T.Bool, KeepZero: true), new F(7, "blockOwnerDeletion", T.Bool, KeepZero: true)),
        ["LabelSelector"] = M(new F(1, "matchLabels", T.MapStr), new F(2, "matchExpressions", T.Msg, true, "LabelSelectorRequirement")),
        ["LabelSelectorRequirement"] = M(new F(1, "key", T.Str), new F(2, "operator", T.Str), new F(3, "values", T.Str, true)),
        ["PodTemplateSpec"] = M(new F(1, "metadata", T.Msg, Msg: "ObjectMeta"), new F(2, "spec", T.Msg, Msg: "PodSpec")),
        ["PodSpec"] = M(
            new F(2, "containers", T.Msg, true, "Container"), new F(3, "restartPolicy", T.Str),
            new F(4, "terminationGracePeriodSeconds", T.Int64, KeepZero: true), new F(5, "activeDeadlineSeconds", T.Int64, KeepZero: true),
            new F(6, "dnsPolicy", T.Str), new F(7, "nodeSelector", T.MapStr), new F(8, "serviceAccountName", T.Str),
            new F(9, "serviceAccount", T.Str), new F(10, "nodeName", T.Str), new F(11, "hostNetwork", T.Bool),
            new F(12, "hostPID", T.Bool), new F(13, "hostIPC", T.Bool), new F(16, "hostname", T.Str), new F(17, "subdomain", T.Str),
            new F(19, "schedulerName", T.Str), new F(24, "priorityClassName", T.Str),
            new F(20, "initContainers", T.Msg, true, "Container")),
        ["Container"] = M(
            new F(1, "name", T.Str), new F(2, "image", T.Str), new F(3, "command", T.Str, true), new F(4, "args", T.Str, true),
            new F(5, "workingDir", T.Str), new F(6, "ports", T.Msg, true, "ContainerPort"), new F(7, "env", T.Msg, true, "EnvVar"),
            new F(8, "resources", T.Msg, Msg: "ResourceRequirements"), new F(13, "terminationMessagePath", T.Str),
            new F(14, "imagePullPolicy", T.Str), new F(16, "stdin", T.Bool), new F(17, "stdinOnce", T.Bool), new F(18, "tty", T.Bool),
            new F(20, "terminationMessagePolicy", T.Str)),
        ["ContainerPort"] = M(new F(1, "name", T.Str), new F(2, "hostPort", T.Int32), new F(3, "containerPort", T.Int32), new F(4, "protocol", T.Str), new F(5, "hostIP", T.Str)),
        ["EnvVar"] = M(new F(1, "name", T.Str), new F(2, "value", T.Str)),
        ["ResourceRequirements"] = M(new F(1, "limits", T.MapMsg, Msg: "Quantity"), new F(2, "requests", T.MapMsg, Msg: "Quantity")),
        ["Empty"] = M(),
    };

    public static readonly IReadOnlyDictionary<string, Dictionary<int, F>> NoMessages = new Dictionary<string, Dictionary<int, F>>();

    /// <summary>Message definitions of a kind, built with <see cref="M"/>-style field lists.</summary>
    public static IReadOnlyDictionary<string, Dictionary<int, F>> Messages(params (string Name, F[] Fields)[] messages) =>
        messages.ToDictionary(m => m.Name, m => m.Fields.ToDictionary(f => f.Num));

    /// <summary>The common messages plus the kinds' own.</summary>
    public static IReadOnlyDictionary<string, Dictionary<int, F>> Combine(IEnumerable<IReadOnlyDictionary<string, Dictionary<int, F>>> kinds)
    {
        var all = new Dictionary<string, Dictionary<int, F>>(Common);
        foreach (var k in kinds)
            foreach (var (name, fields) in k) all[name] = fields;
        return all;
    }

    /// <summary>The root message name of a kind whose protobuf shape differs between its versions.</summary>
    public static string VersionedName(string apiVersion, string kind) => $"{apiVersion}/{kind}";

    public static bool IsProtobuf(string? contentType) =>
        contentType is not null && contentType.Split(';')[0].Trim().Equals(MediaType, StringComparison.OrdinalIgnoreCase);

    /// <summary>Decodes an enveloped object into JSON (with apiVersion and kind); malformed input is 400 BadRequest.</summary>
    public static JsonObject Decode(ReadOnlySpan<byte> body, List<string> warnings, IReadOnlyDictionary<string, Dictionary<int, F>> messages)
    {
        if (body.Length < 4 || !body[..4].SequenceEqual(Magic))
            throw ApiException.BadRequest("protobuf body does not start with the Kubernetes envelope prefix \"k8s\\0\"");
        try
        {
            var reader = new Reader(body[4..].ToArray());
            string apiVersion = "", kind = "", contentEncoding = "";
            byte[]? raw = null;
            while (!reader.End)
            {
                var (num, wire) = reader.Tag();
                switch (num)
                {
                    case 1 when wire == 2:
                        var tm = new Reader(reader.Bytes());
                        while (!tm.End)
                        {
                            var (n, w) = tm.Tag();
                            if (n == 1 && w == 2) apiVersion = tm.String();
                            else if (n == 2 && w == 2) kind = tm.String();
                            else tm.Skip(w);
                        }
                        break;
                    case 2 when wire == 2: raw = reader.Bytes(); break;
                    case 3 when wire == 2: contentEncoding = reader.String(); break;
                    default: reader.Skip(wire); break;
                }
            }
            if (contentEncoding.Length > 0) throw ApiException.BadRequest($"protobuf contentEncoding \"{contentEncoding}\" is not supported");
            if (kind.Length == 0) throw ApiException.BadRequest("protobuf envelope has no kind");
            // A kind served in two versions with different fields (autoscaling/v1 and v2) names its root message
            // "<apiVersion>/<kind>"; every other kind has one shape across its versions.
            var root = messages.ContainsKey(VersionedName(apiVersion, kind)) ? VersionedName(apiVersion, kind) : kind;
            if (!messages.ContainsKey(root) || Common.ContainsKey(kind) || kind is "ObjectMeta" or "Empty" || char.IsLower(kind[0]))
                throw new ApiException(415, "UnsupportedMediaType", $"protobuf bodies of kind {kind} are not supported; send JSON");
            var obj = new JsonObject { ["apiVersion"] = apiVersion, ["kind"] = kind };
            foreach (var (k, v) in DecodeMessage(raw ?? [], root, kind, warnings, 0, messages)) obj[k] = v?.DeepClone();
            return obj;
        }
        catch (ProtoException e)
        {
            throw ApiException.BadRequest($"malformed protobuf body: {e.Message}");
        }
    }

    private static JsonObject DecodeMessage(byte[] data, string type, string path, List<string> warnings, int depth, IReadOnlyDictionary<string, Dictionary<int, F>> messages)
    {
        if (depth > 32) throw new ProtoException("nested too deeply");
        var schema = messages[type];
        var obj = new JsonObject();
        var reader = new Reader(data);
        while (!reader.End)
        {
            var (num, wire) = reader.Tag();
            if (!schema.TryGetValue(num, out var f))
            {
                if (!reader.SkipIsZero(wire) && type != "Empty") warnings.Add($"protobuf field {num} of {path} ({type}) is not decoded");
                continue;
            }
            var value = ReadValue(reader, f, wire, $"{path}.{f.Json}", warnings, depth, messages);
            if (f.Type is T.MapStr or T.MapBytes or T.MapMsg)
            {
                var map = obj[f.Json] as JsonObject ?? new JsonObject();
                var (k, v) = ((string, JsonNode?))value!;
                map[k] = v;
                obj[f.Json] = map;
            }
            else if (f.Repeated)
            {
                var arr = obj[f.Json] as JsonArray ?? new JsonArray();
                arr.Add((JsonNode?)value);
                obj[f.Json] = arr;
            }
            else if (f.Json.Length == 0 && value is JsonObject inline)
            {
                // an embedded message Go marshals inline (json:",inline"): its fields belong to this object
                foreach (var (k, v) in inline.ToList())
                {
                    inline.Remove(k);
                    obj[k] = v;
                }
            }
            else if (value is JsonNode n)
            {
                if (!f.KeepZero && IsZero(n)) obj.Remove(f.Json);
                else obj[f.Json] = n;
            }
        }
        return obj;
    }

    private static bool IsZero(JsonNode n) => n switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s.Length == 0,
        JsonValue v when v.TryGetValue<long>(out var l) => l == 0,
        JsonValue v when v.TryGetValue<int>(out var i) => i == 0,
        JsonValue v when v.TryGetValue<bool>(out var b) => !b,
        JsonObject o => o.Count == 0,
        _ => false,
    };

    private static object? ReadValue(Reader r, F f, int wire, string path, List<string> warnings, int depth, IReadOnlyDictionary<string, Dictionary<int, F>> messages)
    {
        void Expect(int w)
        {
            if (wire != w) throw new ProtoException($"field {path} has wire type {wire}, expected {w}");
        }
        switch (f.Type)
        {
            case T.Str: Expect(2); return JsonValue.Create(r.String());
            case T.Bytes: Expect(2); return JsonValue.Create(Convert.ToBase64String(r.Bytes()));
            case T.Int32: Expect(0); return JsonValue.Create((int)r.Varint());
            case T.Int64: Expect(0); return JsonValue.Create((long)r.Varint());
            case T.Bool: Expect(0); return JsonValue.Create(r.Varint() != 0);
            case T.Msg: Expect(2); return DecodeMessage(r.Bytes(), f.Msg!, path, warnings, depth + 1, messages);
            case T.Quantity: Expect(2); return QuantityString(r.Bytes());
            case T.Time:
            {
                Expect(2);
                var t = new Reader(r.Bytes());
                long seconds = 0;
                while (!t.End)
                {
                    var (n, w) = t.Tag();
                    if (n == 1 && w == 0) seconds = (long)t.Varint();
                    else t.Skip(w);
                }
                return seconds == 0 ? JsonValue.Create("") : JsonValue.Create(DateTimeOffset.FromUnixTimeSeconds(seconds).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture));
            }
            case T.IntOrStr:
            {
                Expect(2);
                var t = new Reader(r.Bytes());
                long kind = 0;
                int intVal = 0;
                var strVal = "";
                while (!t.End)
                {
                    var (n, w) = t.Tag();
                    if (n == 1 && w == 0) kind = (long)t.Varint();
                    else if (n == 2 && w == 0) intVal = (int)t.Varint();
                    else if (n == 3 && w == 2) strVal = t.String();
                    else t.Skip(w);
                }
                return kind == 1 ? JsonValue.Create(strVal) : JsonValue.Create(intVal);
            }
            case T.MapStr or T.MapBytes or T.MapMsg:
            {
                Expect(2);
                var e = new Reader(r.Bytes());
                var key = "";
                JsonNode? value = f.Type == T.MapStr ? JsonValue.Create("") : null;
                while (!e.End)
                {
                    var (n, w) = e.Tag();
                    if (n == 1 && w == 2) key = e.String();
                    else if (n == 2 && w == 2)
                        value = f.Type switch
                        {
                            T.MapStr => JsonValue.Create(e.String()),
                            T.MapBytes => JsonValue.Create(Convert.ToBase64String(e.Bytes())),
                            _ => QuantityString(e.Bytes()),
                        };
                    else e.Skip(w);
                }
                if (f.Type == T.MapBytes) value ??= JsonValue.Create("");
                return (key, value);
            }
            default:
                throw new ProtoException($"unsupported field type {f.Type}");
        }
    }

    private static JsonNode QuantityString(byte[] data)
    {
        var q = new Reader(data);
        var s = "";
        while (!q.End)
        {
            var (n, w) = q.Tag();
            if (n == 1 && w == 2) s = q.String();
            else q.Skip(w);
        }
        return JsonValue.Create(s);
    }

    private sealed class ProtoException(string message) : Exception(message);

    private sealed class Reader(byte[] data)
    {
        private int _pos;
        public bool End => _pos >= data.Length;

        public ulong Varint()
        {
            ulong result = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (_pos >= data.Length) throw new ProtoException("truncated varint");
                var b = data[_pos++];
                result |= (ulong)(b & 0x7f) << shift;
                if ((b & 0x80) == 0) return result;
            }
            throw new ProtoException("varint too long");
        }

        public (int Num, int Wire) Tag()
        {
            var tag = Varint();
            var num = (int)(tag >> 3);
            if (num <= 0 || tag >> 3 > int.MaxValue) throw new ProtoException($"invalid field number {tag >> 3}");
            return (num, (int)(tag & 7));
        }

        public byte[] Bytes()
        {
            var len = Varint();
            if (len > (ulong)(data.Length - _pos)) throw new ProtoException("length exceeds the body");
            var result = data.AsSpan(_pos, (int)len).ToArray();
            _pos += (int)len;
            return result;
        }

        public string String()
        {
            try
            {
                return new UTF8Encoding(false, true).GetString(Bytes());
            }
            catch (DecoderFallbackException)
            {
                throw new ProtoException("invalid UTF-8 in a string field");
            }
        }

        /// <summary>Skips a field; true when its value was empty or zero (the Go encoder writes those for non-pointer fields).</summary>
        public bool SkipIsZero(int wire) => wire switch
        {
            0 => Varint() == 0,
            2 => Bytes().Length == 0,
            _ => SkipFalse(wire),
        };

        private bool SkipFalse(int wire)
        {
            Skip(wire);
            return false;
        }

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0: Varint(); break;
                case 1: Advance(8); break;
                case 2: Bytes(); break;
                case 5: Advance(4); break;
                default: throw new ProtoException($"unsupported wire type {wire}");
            }
        }

        private void Advance(int n)
        {
            if (_pos + n > data.Length) throw new ProtoException("truncated field");
            _pos += n;
        }
    }

    // ---------------- encoder (tests and in-cluster tools build protobuf bodies with it) ----------------

    /// <summary>Encodes a JSON object of a schema kind into the enveloped protobuf form (the inverse of <see cref="Decode"/>).</summary>
    public static byte[] Encode(JsonObject obj, IReadOnlyDictionary<string, Dictionary<int, F>> messages)
    {
        var kind = Meta.Str(obj["kind"]);
        if (!messages.ContainsKey(kind)) throw new ArgumentException($"kind {kind} has no protobuf schema");
        var raw = EncodeMessage(obj, kind, messages);
        var typeMeta = new Writer().Str(1, Meta.Str(obj["apiVersion"])).Str(2, kind).ToArray();
        var unknown = new Writer().Msg(1, typeMeta).Msg(2, raw).Str(3, "").Str(4, "").ToArray();
        return [.. Magic, .. unknown];
    }

    private static byte[] EncodeMessage(JsonObject obj, string type, IReadOnlyDictionary<string, Dictionary<int, F>> messages)
    {
        var w = new Writer();
        foreach (var f in messages[type].Values.OrderBy(f => f.Num))
        {
            var v = obj[f.Json];
            if (v is null) continue;
            switch (f.Type)
            {
                case T.MapStr or T.MapBytes or T.MapMsg:
                    foreach (var (k, mv) in (JsonObject)v)
                    {
                        var entry = new Writer().Str(1, k);
                        var s = Meta.Str(mv);
                        if (f.Type == T.MapStr) entry.Str(2, s);
                        else if (f.Type == T.MapBytes) entry.Msg(2, Convert.FromBase64String(s));
                        else entry.Msg(2, new Writer().Str(1, s).ToArray());
                        w.Msg(f.Num, entry.ToArray());
                    }
                    break;
                default:
                    foreach (var item in f.Repeated ? ((JsonArray)v).ToList() : [v])
                        EncodeValue(w, f, item!, messages);
                    break;
            }
        }
        return w.ToArray();
    }

    private static void EncodeValue(Writer w, F f, JsonNode v, IReadOnlyDictionary<string, Dictionary<int, F>> messages)
    {
        switch (f.Type)
        {
            case T.Str: w.Str(f.Num, Meta.Str(v)); break;
            case T.Bytes: w.Msg(f.Num, Convert.FromBase64String(Meta.Str(v))); break;
            case T.Int32 or T.Int64: w.Varint(f.Num, (ulong)v.GetValue<long>()); break;
            case T.Bool: w.Varint(f.Num, v.GetValue<bool>() ? 1UL : 0UL); break;
            case T.Msg: w.Msg(f.Num, EncodeMessage((JsonObject)v, f.Msg!, messages)); break;
            case T.Time: w.Msg(f.Num, []); break;
            case T.IntOrStr:
                var ios = v is JsonValue jv && jv.TryGetValue<string>(out var s)
                    ? new Writer().Varint(1, 1).Str(3, s).ToArray()
                    : new Writer().Varint(1, 0).Varint(2, (ulong)v.GetValue<long>()).ToArray();
                w.Msg(f.Num, ios);
                break;
        }
    }

    private sealed class Writer
    {
        private readonly List<byte> _bytes = [];

        private void Raw(ulong value)
        {
            while (value >= 0x80)
            {
                _bytes.Add((byte)(value | 0x80));
                value >>= 7;
            }
            _bytes.Add((byte)value);
        }

        public Writer Varint(int num, ulong value)
        {
            Raw((ulong)num << 3);
            Raw(value);
            return this;
        }

        public Writer Msg(int num, byte[] data)
        {
            Raw(((ulong)num << 3) | 2);
            Raw((ulong)data.Length);
            _bytes.AddRange(data);
            return this;
        }

        public Writer Str(int num, string s) => Msg(num, Encoding.UTF8.GetBytes(s));

        public byte[] ToArray() => [.. _bytes];
    }
}
