"""gateway-conflict: Gateways of one gateway workload whose servers cannot share a port."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Related, Rule, Severity
from istio_lsp.checks.conflicts._gateways import (
    HTTP,
    TCP,
    TLS,
    Server,
    rivals,
    selector_text,
    server_kind,
    sni_hosts,
)
from istio_lsp.checks.together import how_sure
from istio_lsp.index import FileSummary
from istio_lsp.model.resources import Gateway, GatewayServer
from istio_lsp.syntax import Span

DOC = """\
Two Gateways that configure the same gateway pods (same `selector`, or selectors the
pods of a workload in the workspace both satisfy) have servers on the same port that
istiod cannot put on one listener.

## Why it matters

istiod merges every Gateway that selects a gateway pod, port by port. Some servers can
share a port; for the others it keeps the first one (by creation time) and drops the
rest, counting them in `pilot_total_rejected_configs`, so a Gateway that applied
cleanly serves nothing on that port:

| the two servers on one port (and one `bind`) | what istiod does | reported |
|---|---|---|
| plain-text HTTP and plain-text HTTP | one listener, the routes of both Gateways' VirtualServices | no |
| TLS and TLS (HTTPS, TLS; terminated or passthrough), different hosts | one listener, told apart by SNI host | no |
| TLS and TLS sharing a host (`*` included) | keeps one server, drops the other: SNI cannot tell them apart | error |
| a TCP (or other non-HTTP, non-TLS) server and any other | keeps one, drops the other | error |
| plain-text HTTP and TLS | keeps one, drops the other | error |
| HTTP servers that both redirect to HTTPS (`tls.httpsRedirect`), one host | keeps one, drops the other | warning |

Hosts are compared by name, whatever namespace part they have (`ns/host`): they are
the SNI names the listener matches on. Gateways select pods in every namespace, so the
Gateways' own namespaces do not matter; servers with different `bind` addresses get
listeners of their own and never collide.

`istioctl analyze` (IST0145) reports any two servers of one selector and port that
share a host, whatever the protocols; two plain-text HTTP Gateways with `hosts: ["*"]`
on port 80 are merged by istiod and work, so they are not reported here. Neither are
overlapping but different hosts (`*.example.com` and `shop.example.com`), which Kiali
(KIA0301) reports: Envoy picks the most specific.

## How sure it is

A repository often holds alternative Gateways side by side (one per sample or
tutorial step, all selecting `istio: ingressgateway`). Two Gateways are compared only
when the workspace shows they are deployed together:

| situation | reported |
|---|---|
| the same file, or the same kustomize build deploys both | as above |
| the same folder, neither built by kustomize (a folder may hold alternatives) | information |
| different folders no build joins, or builds (overlays) of their own | no |
| the same kind and name, in namespaces that may be the same (one object applied twice) | no |
| selectors that differ, and no workload of the workspace carries both | no |
| a selector, port, protocol or host that is a placeholder, or no selector | no |

## Wrong

```yaml
kind: Gateway
metadata: {name: shop}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    tls: {mode: SIMPLE, credentialName: shop-cert}
    hosts: ["*"]
---
kind: Gateway
metadata: {name: admin}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    tls: {mode: SIMPLE, credentialName: admin-cert}
    hosts: ["*"]          # the same SNI host on the same port: one server is dropped
```

## Right

Give each server the hosts it is for (`shop.example.com`, `admin.example.com`), or
serve both from one Gateway.

## Fixes

None: which server should keep the port is for you to decide.

There is one finding per server, naming every Gateway it collides with, like
`istioctl analyze`.

Related: `istioctl analyze` IST0145 ConflictingGateways; Kiali KIA0301.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for gateway in summary.resources:
        if not isinstance(gateway, Gateway):
            continue
        for server in gateway.servers:
            finding = _check_server(ctx, gateway, server)
            if finding is not None:
                yield finding


def _check_server(ctx: Context, gateway: Gateway, server: GatewayServer) -> Finding | None:
    mine = server_kind(server)
    if mine is None:
        return None
    clashes: list[tuple[str, Server, list[str]]] = []  # (what collides, the other server, shared hosts)
    evidence: list[str] = []
    for (other, theirs), how in rivals(ctx.index, gateway, server):
        kind = _collision(gateway, server, mine, other, theirs)
        if kind is not None:
            clashes.append((kind[0], (other, theirs), kind[1]))
            evidence.append(how)
    if not clashes:
        return None
    default = Severity.WARNING if all(what == "redirect" for what, _, _ in clashes) else Severity.ERROR
    severity, hedge = how_sure(default, evidence)
    clashes.sort(key=lambda c: c[0] == "redirect")  # the errors first
    what, (other, theirs), shared = clashes[0]
    names = ", ".join(dict.fromkeys(o.display for _, (o, _), _ in clashes))
    port = server.port
    if what == "protocol":
        message = (
            f"Port {port} is also served by {names} on the same gateway pods (selector `{selector_text(gateway)}`): "
            f"{_describe(server)} and {_describe(theirs)} cannot share a port, so istiod keeps one server and drops "
            f"the other."
        )
        span = server.port_span or server.span
    else:
        hosts = ", ".join(f"`{h}`" for h in shared)
        message = (
            f"Host {hosts} on port {port} is also served by {names} on the same gateway pods (selector "
            f"`{selector_text(gateway)}`): two {'HTTPS-redirecting' if what == 'redirect' else 'TLS'} servers of "
            f"one port cannot share a host, so istiod keeps one server and drops the other"
            + (", and hosts only the dropped one lists get no answer." if what == "redirect" else ".")
        )
        span = _host_span(server, shared[0]) or server.port_span or server.span
    if span is None:
        return None
    message += hedge
    related = [
        Related(o.uri, t.port_span or t.span or o.name_span, f"{o.display}: {_describe(t)} on port {port}")
        for _, (o, t), _ in clashes
    ]
    return ctx.finding(RULE, gateway, span, message, severity=severity, related=related)


def _collision(
    gateway: Gateway, server: GatewayServer, mine: str, other: Gateway, theirs: GatewayServer
) -> tuple[str, list[str]] | None:
    """("protocol" | "host" | "redirect", the shared hosts) when two servers of one port collide."""
    kind = server_kind(theirs)
    if kind is None:
        return None
    shared = [h for h in sni_hosts(gateway, server) if h in sni_hosts(other, theirs)]
    if mine == HTTP and kind == HTTP:
        return ("redirect", shared) if server.tls and theirs.tls and shared else None
    if mine == TLS and kind == TLS:
        return ("host", shared) if shared else None
    return ("protocol", [])  # TCP with anything, or plain-text HTTP with TLS


def _describe(server: GatewayServer) -> str:
    protocol = (server.protocol or "").upper()
    kind = server_kind(server)
    if kind == TCP:
        return f"a {protocol} server"
    if kind == TLS:
        return f"a TLS ({protocol}) server"
    return f"a plain-text {protocol} server"


def _host_span(server: GatewayServer, host: str) -> Span | None:
    for ref in server.host_refs:
        written = ref.value.strip().lower()
        if (written.partition("/")[2] if "/" in written else written) == host:
            return ref.span
    return None


RULE = Rule(
    code="gateway-conflict",
    severity=Severity.ERROR,
    summary="Gateways of one gateway workload whose servers on a port cannot coexist: istiod drops one.",
    doc=DOC,
    run=run,
    istio_codes=("IST0145",),
    kiali_codes=("KIA0301",),
)
