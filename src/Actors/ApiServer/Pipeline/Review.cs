using AkkaKube.Actors.ApiServer.Registry.Authorization;
using AkkaKube.Actors.Machinery;
using AkkaKube.Actors.Security;

namespace AkkaKube.Actors.ApiServer;

// The review APIs (SubjectAccessReview, SelfSubjectRulesReview, SelfSubjectReview…): create only, answered, never stored.
public sealed partial class ApiPipeline
{
    private async Task<Result> ReviewAsync(RequestScope c, ReviewStrategy review)
    {
        if (c.Req.Verb != "create" || c.Req.Name is not null || c.Req.Subresource is not null)
            throw ApiException.MethodNotAllowed($"the server does not allow this method on the requested resource ({c.Req.Verb} {c.R.Resource})");
        if (Authorizer is null) throw new ApiException(503, "ServiceUnavailable", $"{c.R.Resource} need the authorizer, which this apiserver does not run");
        var obj = ParseObject(c);
        var answered = await review.ReviewAsync(obj, c.Req.User ?? UserInfo.InClusterComponent, c.Ns, Authorizer, _settings.StoreTimeout, c.Ct);
        return new(201, answered, c.Warnings);
    }
}
