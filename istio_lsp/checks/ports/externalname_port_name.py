"""externalname-port-name: an ExternalName Service port that sidecars would proxy as opaque TCP."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity
from istio_lsp.checks.ports._protocols import (
    OPAQUE_TCP,
    PROTOCOLS,
    copies,
    declared,
    evident_protocol,
    istio_own,
    protocol_fixes,
    proxied,
)
from istio_lsp.index import FileSummary
from istio_lsp.index.patches import may_be_patched
from istio_lsp.model.resources import Service, ServicePort

DOC = """\
A port of an ExternalName Service that declares no protocol Istio knows (no name, a
name without a protocol prefix, an unknown `appProtocol`), or that declares plain TCP
(`tcp`, `tcp-…`, `mongo`, `mysql`, `redis`).

## Why it matters

An ExternalName Service has no cluster IP: it is a DNS alias for a name outside the
cluster. Istio still gives every sidecar that sees the Service an outbound listener
for each of its ports, and with no IP to match, that listener is bound to `0.0.0.0`.
A port Istio routes by content is harmless there: HTTP is routed by its Host header,
TLS and HTTPS by the SNI of the handshake. A port proxied as opaque TCP, or sniffed
and found not to be HTTP, matches every connection to that port number for which no
other Service has a listener, whatever address it was meant for, and sends it to
the external name. Calls to other external servers on the same port go to the wrong
place (a classic: an unnamed `443` port captures the mesh's outbound HTTPS).

## How sure it is

- **warning**: the port is sniffed or declared opaque TCP. `istioctl analyze` reports
  the sniffed ports and the port named exactly `tcp` (IST0150); this rule also reports
  `tcp-…` and the other opaque protocols, which Envoy handles the same way.
- **not reported**: ports declared HTTP, HTTP2, gRPC, HTTPS or TLS; UDP and SCTP
  ports; Istio's own Services (labels `istio`, `release: istio`,
  `gateway.istio.io/managed`); ports a kustomize patch may rewrite.

## Wrong

```yaml
kind: Service
spec:
  type: ExternalName
  externalName: api.example.com
  ports:
  - port: 443          # sniffed: non-HTTP traffic to any :443 goes to api.example.com
```

## Right

```yaml
  ports:
  - name: tls
    port: 443
```

## Fixes

Offered only when the files state the protocol elsewhere (a protocol word later in
the name, a named `targetPort`) and it is one Istio routes by content:
**Set appProtocol: `<protocol>`** (preferred) or **Name the port `<protocol>-<rest>`**.
Whether a port carries TLS or plain TCP is not guessed from its number.

Related: `istioctl analyze` IST0150 ExternalNameServiceTypeInvalidPortName.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for service in summary.resources:
        if not isinstance(service, Service) or service.service_type != "ExternalName":
            continue
        capturing = [p for p in service.ports if proxied(p) and _captures(p)]
        if not capturing or any(
            istio_own(copy) is not None or may_be_patched(ctx.index, copy, "port")
            for copy in copies(ctx.index, service)
        ):
            continue
        for port in capturing:
            yield _finding(ctx, service, port)


def _captures(port: ServicePort) -> bool:
    found = declared(port)
    if found.unknown or port.port is None:
        return False  # a placeholder: nothing can be said
    return found.protocol is None or found.protocol in OPAQUE_TCP


def _finding(ctx: Context, service: Service, port: ServicePort) -> Finding:
    found = declared(port)
    number = port.port
    if found.protocol is not None:
        written = f"appProtocol `{port.app_protocol}`" if port.app_protocol else f"`{port.name}`"
        if found.source == "port number":
            what = f"declares no protocol, and Istio takes port {number} as {found.protocol} then"
        else:
            what = f"is declared {found.protocol} ({written})"
        handled = "proxied as opaque TCP"
    elif port.app_protocol:
        what = f"declares no protocol Istio knows (appProtocol `{port.app_protocol}`)"
        handled = "sniffed"
    elif port.name:
        what = f"declares no protocol Istio knows (`{port.name}` has no protocol prefix)"
        handled = "sniffed"
    else:
        what = "has no name or appProtocol that declares a protocol"
        handled = "sniffed"
    which = "connections" if found.protocol is not None else "connections that are not HTTP"
    message = (
        f"Port {number} of this ExternalName Service {what}, so it is {handled}. With no cluster IP to "
        f"match, every sidecar that sees the Service listens on 0.0.0.0:{number} for it: {which} to "
        f"port {number} that no other Service claims, whatever address they were meant for, go to the "
        f"external name. Declare HTTP, TLS or HTTPS if the port carries it (routed by Host or SNI, it "
        f"captures nothing else)."
    )
    if found.protocol is None or port.name == "tcp":
        message += " istioctl analyze reports it (IST0150)."
    else:
        message += " istioctl analyze reports this only for the port name `tcp` (IST0150)."
    fixes = []
    if found.protocol is None:
        evidence = evident_protocol(ctx.index, service, port)
        if evidence is not None and PROTOCOLS[evidence.protocol] not in OPAQUE_TCP:
            fixes = protocol_fixes(service.uri, port, evidence)
    named = port.app_protocol_span if port.app_protocol else port.name_span
    where = named or port.first_key_span or port.span or service.name_span
    return ctx.finding(RULE, service, where, message, fixes=fixes)


RULE = Rule(
    code="externalname-port-name",
    severity=Severity.WARNING,
    summary="An ExternalName Service port proxied as opaque TCP: it captures other traffic to its port number.",
    doc=DOC,
    run=run,
    istio_codes=("IST0150",),
)
