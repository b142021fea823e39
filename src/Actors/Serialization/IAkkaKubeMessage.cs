namespace AkkaKube.Actors.Serialization;

/// <summary>
/// Marker for every AkkaKube message that may cross nodes or be persisted. HOCON binds this
/// interface to <see cref="AkkaKubeJsonSerializer"/>, so none of them falls back to the default serializer.
/// </summary>
public interface IAkkaKubeMessage;
