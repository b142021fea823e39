using System.Net;
using ARSoft.Tools.Net;
using ARSoft.Tools.Net.Dns;

namespace AkkaKube.Actors.Dns;

/// <summary>
/// Answers one DNS query: names of the cluster zone from the current <see cref="ClusterZone"/> (authoritative, NXDOMAIN
/// and NODATA with the zone's SOA), reverse names the zone knows, everything else through the <see cref="DnsForwarder"/>.
/// Anything but one standard query of class IN is refused (FORMERR for several questions, NOTIMP for other opcodes,
/// REFUSED for zone transfers); at most <see cref="DnsSettings.MaxConcurrentQueries"/> forwards run at once.
/// </summary>
public sealed class DnsQueryHandler(Func<ClusterZone> zone, DnsForwarder forwarder, DnsSettings settings)
{
    private readonly SemaphoreSlim _forwards = new(settings.MaxConcurrentQueries, settings.MaxConcurrentQueries);

    public async Task<DnsMessage> AnswerAsync(DnsMessage query, CancellationToken ct = default)
    {
        var response = query.CreateResponseInstance();
        response.IsRecursionAllowed = true;
        if (query.OperationCode != OperationCode.Query)
            return Code(response, ReturnCode.NotImplemented);
        if (query.Questions.Count != 1)
            return Code(response, ReturnCode.FormatError);
        var question = query.Questions[0];
        if (question.RecordType is RecordType.Axfr or RecordType.Ixfr)
            return Code(response, ReturnCode.Refused);
        var current = zone();
        var name = question.Name.ToString();
        var answer = question.RecordClass is RecordClass.INet or RecordClass.Any
            ? current.Answer(name, ToZoneType(question.RecordType))
            : ZoneAnswer.Forward;
        if (answer.Code == ZoneCode.NotInZone)
        {
            if (current.InZone(name)) return Code(response, ReturnCode.Refused); // a class other than IN in our zone
            return await ForwardAsync(question, response, ct);
        }
        response.IsAuthoritiveAnswer = true;
        response.ReturnCode = answer.Code == ZoneCode.NxDomain ? ReturnCode.NxDomain : ReturnCode.NoError;
        foreach (var r in answer.Answers) response.AnswerRecords.Add(ToRecord(r, current));
        foreach (var r in answer.Additional) response.AdditionalRecords.Add(ToRecord(r, current));
        if (answer.Answers.Count == 0) response.AuthorityRecords.Add(ToRecord(current.Soa, current));
        return response;
    }

    private async Task<DnsMessage> ForwardAsync(DnsQuestion question, DnsMessage response, CancellationToken ct)
    {
        if (!await _forwards.WaitAsync(settings.ForwardTimeout, ct))
            return Code(response, ReturnCode.ServerFailure);
        try
        {
            var upstream = await forwarder.ForwardAsync(question, ct);
            if (upstream is null) return Code(response, ReturnCode.ServerFailure);
            response.ReturnCode = upstream.Code;
            response.AnswerRecords.AddRange(upstream.Answers);
            response.AuthorityRecords.AddRange(upstream.Authority);
            response.AdditionalRecords.AddRange(upstream.Additional);
            return response;
        }
        finally
        {
            _forwards.Release();
        }
    }

    private static DnsMessage Code(DnsMessage response, ReturnCode code)
    {
        response.ReturnCode = code;
        return response;
    }

    private static DnsType ToZoneType(RecordType type) => type switch
    {
        RecordType.A => DnsType.A,
        RecordType.Aaaa => DnsType.Aaaa,
        RecordType.CName => DnsType.Cname,
        RecordType.Srv => DnsType.Srv,
        RecordType.Ptr => DnsType.Ptr,
        RecordType.Soa => DnsType.Soa,
        RecordType.Ns => DnsType.Ns,
        RecordType.Txt => DnsType.Txt,
        RecordType.Any => DnsType.Any,
        _ => (DnsType)(int)type,
    };

    private static DnsRecordBase ToRecord(ZoneRecord r, ClusterZone zone)
    {
        var name = DomainName.Parse(r.Name);
        return r.Type switch
        {
            DnsType.A or DnsType.Aaaa when IPAddress.Parse(r.Data) is var ip => ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
                ? new AaaaRecord(name, zone.Ttl, ip)
                : new ARecord(name, zone.Ttl, ip),
            DnsType.Cname => new CNameRecord(name, zone.Ttl, DomainName.Parse(r.Data)),
            DnsType.Ptr => new PtrRecord(name, zone.Ttl, DomainName.Parse(r.Data)),
            DnsType.Srv => new SrvRecord(name, zone.Ttl, r.Priority, r.Weight, r.Port, DomainName.Parse(r.Data)),
            DnsType.Ns => new NsRecord(name, zone.Ttl, DomainName.Parse(r.Data)),
            DnsType.Soa => new SoaRecord(name, zone.Ttl, DomainName.Parse(r.Data), DomainName.Parse(zone.Hostmaster),
                zone.Serial, 7200, 1800, 86400, zone.Ttl),
            _ => throw new ArgumentException($"no wire form for {r.Type}"),
        };
    }
}
