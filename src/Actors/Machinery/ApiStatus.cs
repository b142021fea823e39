using System.Text.Json.Nodes;

namespace AkkaKube.Actors.Machinery;

/// <summary>One cause of a 422 Invalid: reason (FieldValueRequired, FieldValueInvalid…), message and field path.</summary>
public sealed record StatusCause(string Reason, string Message, string Field);

/// <summary>
/// A refused request, carried as an exception inside the pipeline and always answered as a
/// metav1.Status with the code and reason Kubernetes uses.
/// </summary>
public sealed class ApiException(int code, string reason, string message, JsonObject? details = null) : Exception(message)
{
    public int Code { get; } = code;
    public string Reason { get; } = reason;
    public JsonObject? Details { get; } = details;

    public JsonObject ToStatus() => ApiStatus.Failure(Code, Reason, Message, Details);

    public static ApiException BadRequest(string message) => new(400, "BadRequest", message);
    public static ApiException NotFound(string message) => new(404, "NotFound", message);
    public static ApiException MethodNotAllowed(string message) => new(405, "MethodNotAllowed", message);
    public static ApiException UnsupportedMediaType(string contentType) =>
        new(415, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got {contentType})");

    public static ApiException ResourceNotFound(ApiResource r, string name) =>
        new(404, "NotFound", $"{r.QualifiedName} \"{name}\" not found", DetailsFor(r, name));

    public static ApiException AlreadyExists(ApiResource r, string name) =>
        new(409, "AlreadyExists", $"{r.QualifiedName} \"{name}\" already exists", DetailsFor(r, name));

    public static ApiException Conflict(ApiResource r, string name, string why) =>
        new(409, "Conflict", $"Operation cannot be fulfilled on {r.QualifiedName} \"{name}\": {why}", DetailsFor(r, name));

    public static ApiException Invalid(ApiResource r, string name, IReadOnlyList<StatusCause> causes)
    {
        var details = DetailsFor(r, name);
        details["kind"] = r.Kind; // Invalid names the Kind (kubectl prints `The Deployment "x" is invalid`)
        var arr = new JsonArray();
        foreach (var c in causes)
            arr.Add(new JsonObject { ["reason"] = c.Reason, ["message"] = c.Message, ["field"] = c.Field });
        details["causes"] = arr;
        var text = string.Join(", ", causes.Select(c => $"{c.Field}: {c.Message}"));
        return new ApiException(422, "Invalid", $"{r.Kind} \"{name}\" is invalid: {text}", details);
    }

    public static JsonObject DetailsFor(ApiResource r, string? name)
    {
        var d = new JsonObject();
        if (!string.IsNullOrEmpty(name)) d["name"] = name;
        if (r.Group.Length > 0) d["group"] = r.Group;
        d["kind"] = r.Resource;
        return d;
    }
}

public static class ApiStatus
{
    public static JsonObject Failure(int code, string reason, string message, JsonObject? details = null)
    {
        var s = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = message,
            ["reason"] = reason,
        };
        if (details is not null) s["details"] = details.DeepClone();
        s["code"] = code;
        return s;
    }

    public static JsonObject Success(JsonObject? details = null, int code = 200)
    {
        var s = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Success",
        };
        if (details is not null) s["details"] = details.DeepClone();
        s["code"] = code;
        return s;
    }

    /// <summary>The Status reason Kubernetes uses for an HTTP code when nothing more specific is known.</summary>
    public static string ReasonFor(int code) => code switch
    {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        406 => "NotAcceptable",
        409 => "Conflict",
        410 => "Expired",
        413 => "RequestEntityTooLarge",
        415 => "UnsupportedMediaType",
        422 => "Invalid",
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => code >= 500 ? "InternalError" : "BadRequest",
    };
}
