"""gateway-duplicate-certificate: TLS servers of several Gateways of one gateway workload share a certificate."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Related, Rule, Severity
from istio_lsp.checks.conflicts._gateways import TLS, rivals, server_kind
from istio_lsp.checks.together import how_sure
from istio_lsp.index import FileSummary
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import Gateway, GatewayServer, Ref

DOC = """\
TLS servers of two Gateways that configure the same gateway pods, on the same port,
present the same certificate: the same `credentialName` (or `credentialNames`
entry), or the same `serverCertificate` and `privateKey` files.

## Why it matters

Each Gateway's HTTPS server gets its own filter chain and its own route table,
chosen by SNI when the TLS connection opens. Browsers and HTTP/2 clients reuse an
open connection for another host when the certificate covers that host too (a
wildcard or multi-name certificate) and the address is the same. The request for the
second host then arrives on the first server's filter chain, whose routes only know
the first Gateway's hosts: the gateway answers 404, intermittently, depending on
which host a client visited first. Istio documents this among its common network
problems.

## How sure it is

Only servers that terminate TLS (not `PASSTHROUGH`) on the same port and address
are compared; a client only reuses a connection to one port. The two Gateways must
be deployed together (the same file or kustomize build; information when they only
share a folder, which may hold alternatives) and select the same pods: the same
`selector`, or selectors a workload of the workspace satisfies both of. Certificate
names that are placeholders are not compared. Severity: warning (the certificate may
not cover both hosts, which the files cannot tell).

## Wrong

```yaml
kind: Gateway
metadata: {name: shop}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    tls: {mode: SIMPLE, credentialName: wildcard-example-com}
    hosts: [shop.example.com]
---
kind: Gateway
metadata: {name: blog}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    tls: {mode: SIMPLE, credentialName: wildcard-example-com}
    hosts: [blog.example.com]
```

## Right

Serve the hosts that share a certificate from one Gateway (one server with
`hosts: [shop.example.com, blog.example.com]`), or give each host its own
certificate.

## Fixes

None.

Related: `istioctl analyze` IST0138 GatewayDuplicateCertificate (which also compares
servers on different ports).
"""

_PASSTHROUGH = frozenset({"PASSTHROUGH", "AUTO_PASSTHROUGH"})


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for gateway in summary.resources:
        if not isinstance(gateway, Gateway):
            continue
        for server in gateway.servers:
            mine = _certificates(server)
            if not mine:
                continue
            shared: dict[str, Ref] = {}
            with_whom: list[tuple[Gateway, GatewayServer]] = []
            evidence: list[str] = []
            for (other, theirs), how in rivals(ctx.index, gateway, server):
                common = [c for c in _certificates(theirs) if c in mine]
                if common:
                    for certificate in common:
                        shared.setdefault(certificate, mine[certificate])
                    with_whom.append((other, theirs))
                    evidence.append(how)
            if not with_whom:
                continue
            certificate, ref = next(iter(shared.items()))
            names = ", ".join(dict.fromkeys(o.display for o, _ in with_whom))
            message = (
                f"{names} also present{'s' if len(with_whom) == 1 else ''} the certificate `{certificate}` on port "
                f"{server.port} of the same gateway pods. A client may reuse one HTTP/2 connection for both Gateways' "
                f"hosts when the certificate covers them, and gets 404 from the server that does not route the "
                f"other's hosts: serve those hosts from one Gateway, or give each its own certificate."
            )
            severity, hedge = how_sure(RULE.severity, evidence)
            related = [
                Related(o.uri, (t.credential_name or t.server_certificate or ref).span, f"{o.display} uses it too")
                for o, t in with_whom
            ]
            yield ctx.finding(RULE, gateway, ref.span, message + hedge, severity=severity, related=related)


def _certificates(server: GatewayServer) -> dict[str, Ref]:
    """The certificates a TLS-terminating server presents, by how Istio compares them."""
    if server_kind(server) != TLS or (server.tls_mode or "").strip().upper() in _PASSTHROUGH:
        return {}
    out: dict[str, Ref] = {}
    names = [server.credential_name] if server.credential_name is not None else []
    names += server.credential_names
    for ref in names:
        value = ref.value.strip()
        if value and not is_placeholder(value):
            out.setdefault(value, ref)
    if names:
        return out
    cert, key = server.server_certificate, server.private_key
    if cert is not None and key and not is_placeholder(cert.value) and not is_placeholder(key):
        out[f"{cert.value.strip()} (key {key.strip()})"] = cert
    return out


RULE = Rule(
    code="gateway-duplicate-certificate",
    severity=Severity.WARNING,
    summary="TLS servers of several Gateways on one port of the same gateway pods share a certificate: 404s.",
    doc=DOC,
    run=run,
    istio_codes=("IST0138",),
)
