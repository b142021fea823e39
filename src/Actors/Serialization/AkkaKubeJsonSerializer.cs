using System.Collections.Concurrent;
using System.Runtime.Serialization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using Akka.Serialization;

namespace AkkaKube.Actors.Serialization;

/// <summary>
/// System.Text.Json serializer with a string manifest (the type's full name) for every
/// <see cref="IAkkaKubeMessage"/>. Actor references travel as their serialized path.
/// </summary>
public sealed class AkkaKubeJsonSerializer : SerializerWithStringManifest
{
    public const int SerializerId = 4242;
    private static readonly ConcurrentDictionary<string, Type> TypesByManifest = new();
    private readonly JsonSerializerOptions _options;

    public AkkaKubeJsonSerializer(ExtendedActorSystem system) : base(system)
    {
        _options = CreateOptions(system);
    }

    public override int Identifier => SerializerId;

    public static JsonSerializerOptions CreateOptions(ExtendedActorSystem? system)
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.Never,
            IncludeFields = false,
        };
        if (system is not null)
            options.Converters.Add(new ActorRefConverter(system));
        return options;
    }

    public override string Manifest(object o) => o.GetType().FullName!;

    public override byte[] ToBinary(object obj) => JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), _options);

    public override object FromBinary(byte[] bytes, string manifest)
    {
        var type = TypesByManifest.GetOrAdd(manifest, ResolveType);
        return JsonSerializer.Deserialize(bytes, type, _options)
               ?? throw new SerializationException($"AkkaKube message '{manifest}' deserialized to null");
    }

    private static Type ResolveType(string manifest)
    {
        var type = typeof(IAkkaKubeMessage).Assembly.GetType(manifest, throwOnError: false);
        if (type is null || !typeof(IAkkaKubeMessage).IsAssignableFrom(type))
            throw new SerializationException($"Unknown AkkaKube message manifest '{manifest}'");
        return type;
    }

    private sealed class ActorRefConverter(ExtendedActorSystem system) : JsonConverter<IActorRef>
    {
        public override bool CanConvert(Type typeToConvert) => typeof(IActorRef).IsAssignableFrom(typeToConvert);

        public override IActorRef? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType == JsonTokenType.Null) return null;
            var path = reader.GetString();
            return string.IsNullOrEmpty(path) ? ActorRefs.Nobody : system.Provider.ResolveActorRef(path);
        }

        public override void Write(Utf8JsonWriter writer, IActorRef value, JsonSerializerOptions options) =>
            writer.WriteStringValue(Akka.Serialization.Serialization.SerializedActorPath(value));
    }
}
