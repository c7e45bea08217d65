"""port-name-without-protocol: a Service port that declares no protocol Istio recognises."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Fix, Rule, Severity
from istio_lsp.checks.ports._protocols import (
    Evidence,
    copies,
    declared,
    evident_protocol,
    istio_own,
    outside_mesh,
    parse,
    protocol_fixes,
    proxied,
)
from istio_lsp.index import FileSummary
from istio_lsp.index.patches import may_be_patched
from istio_lsp.model.resources import Resource, Service, ServicePort

DOC = """\
A Service port whose protocol Istio cannot tell: its name is not `<protocol>` or
`<protocol>-<suffix>` and it has no `appProtocol`, or its `appProtocol` is a value
Istio does not know.

## Why it matters

A sidecar decides how to handle a port's traffic from the protocol the Service port
declares. Istio reads `appProtocol` first and, only when it is not set, the prefix of
the port's name up to the first `-`: `http`, `http2`, `https`, `grpc`, `grpc-web`,
`tcp`, `tls`, `mongo`, `mysql`, `redis` (`udp` too). So `http-api` declares HTTP, while
`api-http`, `web` or no name declare nothing.

A port that declares nothing is sniffed: the proxy looks at each connection's first
bytes. HTTP/1.1 and HTTP/2 are recognised and get HTTP routing, retries, policies and
metrics; anything else is proxied as opaque TCP. That works for most HTTP services,
but it is a guess made per connection, and a protocol whose server speaks first (MySQL,
SMTP, many databases) can hang, since the client waits for the server while the proxy
waits for the client. Ports 25, 53, 3306 and 27017 are TCP when nothing is declared.

An `appProtocol` that Istio does not know is worse than none: the port's name is then
not read at all, so `name: grpc` with `appProtocol: h2c` is sniffed, not gRPC. Istio
knows the values above and Kubernetes' `kubernetes.io/h2c` (HTTP/2), `kubernetes.io/ws`
(HTTP) and `kubernetes.io/wss` (HTTPS).

## How sure it is

- **information**: no name or appProtocol declares a protocol (legal, and sniffing
  often works).
- **warning**: `appProtocol` is set to a value Istio does not know.
- **not reported**: ExternalName Services (see `externalname-port-name`), UDP and SCTP
  ports (Envoy does not proxy them), Istio's own Services (labels `istio`,
  `release: istio` or `gateway.istio.io/managed`, or the Kubernetes system
  namespaces), Services whose pods the files show outside the mesh (every workload
  it selects says `sidecar.istio.io/inject: "false"`, or its Namespace has
  `istio-injection: disabled`), and ports a kustomize patch may rewrite.

## Wrong

```yaml
kind: Service
spec:
  ports:
  - name: web            # no protocol prefix
    port: 80
    targetPort: http
  - name: grpc
    port: 9090
    appProtocol: h2c     # not Istio's: the name is ignored
```

## Right

```yaml
  ports:
  - name: http-web
    port: 80
    targetPort: http
  - name: grpc
    port: 9090
    appProtocol: kubernetes.io/h2c
```

## Fixes

Offered only when the files state the protocol somewhere else: a protocol word later
in the name (`web-http`; not `tcp`, which names the transport in OpenShift's
`8080-tcp`), a named `targetPort` (`http`), or the name of the container port the
Service port leads to in every workload it selects; for an unknown
`appProtocol`, also the port's own name or the Kubernetes spelling of a common value
(`h2c` → `kubernetes.io/h2c`, `ws`, `wss`). Otherwise there is no fix: which protocol
a port carries is not guessed from its number.

- **Set appProtocol: `<protocol>`** (preferred): declares the protocol without renaming
  the port, so nothing that refers to the port by name breaks.
- **Name the port `<protocol>-<rest>`**: the naming convention; a rename may break
  whatever refers to the port by name (an Ingress backend, a ServiceMonitor).

Related: `istioctl analyze` IST0118 PortNameIsNotUnderNamingConvention; Kiali
KIA0601 (port name) and KIA0602 (appProtocol).
"""

# Kubernetes' spellings of common appProtocol values that Istio knows only in that form
_KUBERNETES_SPELLING = {"h2c": "kubernetes.io/h2c", "ws": "kubernetes.io/ws", "wss": "kubernetes.io/wss"}


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for service in summary.resources:
        if not isinstance(service, Service) or service.service_type == "ExternalName":
            continue
        undeclared = [p for p in service.ports if proxied(p) and _undeclared(p)]
        # decided on every build's copy: information must not differ between builds
        if not undeclared or any(_skipped(ctx, copy) for copy in copies(ctx.index, service)):
            continue
        for port in undeclared:
            yield _finding(ctx, service, port)


def _skipped(ctx: Context, service: Resource) -> bool:
    """Istio's own Service, ports a patch may rewrite, or pods the files show outside the mesh."""
    return (
        not isinstance(service, Service)
        or istio_own(service) is not None
        or may_be_patched(ctx.index, service, "port")
        or outside_mesh(ctx.index, service)
    )


def _undeclared(port: ServicePort) -> bool:
    found = declared(port)
    return not found.unknown and found.protocol is None


def _finding(ctx: Context, service: Service, port: ServicePort) -> Finding:
    what = f"Port {port.port}" if port.port is not None else "This port"
    if port.name:
        what += f" (`{port.name}`)"
    sniffing = (
        "Istio detects the protocol from each connection's first bytes: HTTP/1.1 and HTTP/2 get HTTP "
        "routing, policies and metrics, anything else is proxied as opaque TCP, and a protocol whose "
        "server speaks first (MySQL, SMTP) can hang."
    )
    app = port.app_protocol
    if app:
        by_name = parse(port.name or "")
        hidden = f" (`{port.name}` would have declared {by_name})" if by_name else ""
        message = (
            f"{what}: appProtocol `{app}` is not a protocol Istio knows, and Istio reads appProtocol instead "
            f"of the port name{hidden}. {sniffing}"
        )
        evidence = _app_protocol_evidence(ctx, service, port)
        if evidence is not None and evidence.protocol.startswith("kubernetes.io/"):
            message += f" Kubernetes spells `{app}` as `{evidence.protocol}`, which Istio knows."
        elif evidence is not None and not hidden:
            message += f" {evidence.what[0].upper()}{evidence.what[1:]} says {evidence.protocol}."
        message += " Kiali reports it (KIA0602); istioctl analyze as information (IST0118)."
        severity = Severity.WARNING
        span = port.app_protocol_span
    else:
        evidence = evident_protocol(ctx.index, service, port)
        if port.name:
            reason = "its name does not start with one (`http`, `http-…`, `grpc-…`, `tcp-…`…) and it has no appProtocol"
        else:
            reason = "it has no name and no appProtocol"
        message = f"{what} declares no protocol Istio recognises: {reason}. {sniffing}"
        if evidence is not None:
            message += f" {evidence.what[0].upper()}{evidence.what[1:]} says {evidence.protocol}."
        message += " istioctl analyze reports it (IST0118), Kiali too (KIA0601)."
        severity = Severity.INFORMATION
        span = port.name_span
    fixes: list[Fix] = []
    if evidence is not None:
        fixes = protocol_fixes(service.uri, port, evidence)
    where = span or port.first_key_span or port.span or service.name_span
    return ctx.finding(RULE, service, where, message, severity=severity, fixes=fixes)


def _app_protocol_evidence(ctx: Context, service: Service, port: ServicePort) -> Evidence | None:
    """What an unknown appProtocol was meant to be: its Kubernetes spelling, the protocol the port's
    name declares, or what the files say the port carries."""
    app = (port.app_protocol or "").strip()
    if app.lower() in _KUBERNETES_SPELLING:
        return Evidence(_KUBERNETES_SPELLING[app.lower()], f"appProtocol `{app}`")
    word = (port.name or "").lower().partition("-")[0]
    if parse(port.name or "") is not None and word != "udp":
        word = "grpc-web" if (port.name or "").lower().startswith("grpc-web") else word
        return Evidence(word, f"its name `{port.name}`")
    return evident_protocol(ctx.index, service, port)


RULE = Rule(
    code="port-name-without-protocol",
    severity=Severity.INFORMATION,
    summary="A Service port whose name or appProtocol declares no protocol Istio knows: Istio sniffs it.",
    doc=DOC,
    run=run,
    istio_codes=("IST0118",),
    kiali_codes=("KIA0601", "KIA0602"),
)
