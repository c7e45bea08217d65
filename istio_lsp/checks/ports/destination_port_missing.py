"""destination-port-missing: a destination without `port` whose Service exposes several ports."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Fix, Rule, Severity, TextEdit, related_to
from istio_lsp.checks.ports._exposure import (
    Exposure,
    Use,
    Uses,
    exposure,
    listener_ports,
    port_list,
    unreachable_port,
)
from istio_lsp.index import FileSummary
from istio_lsp.index.patches import may_be_patched
from istio_lsp.model.resources import Destination, Service, VirtualService
from istio_lsp.syntax import Span

DOC = """\
A route or mirror destination says no `port`, and the Service behind its host exposes
more than one, where the route is used on a port that Service does not expose.

## Why it matters

Istio makes one Envoy cluster per port of a service. A destination without a port goes
to the Service's only port when it has one. When it has several, Envoy keeps the port
the request came in on: the port of the gateway server, or, in the mesh, the port of
the service named in the VirtualService's `hosts`. Where the destination's Service does
not expose that port there is no cluster, and requests fail with 503 (response flag
NC). The usual case: a gateway listening on 80 or 443 in front of a Service exposing
`8080` and `9090`.

`istioctl analyze` (IST0112) reports every destination without a port to a service with
several ports, bound to a gateway or not. It does not look at where the route is used,
so it also reports the usual mesh VirtualService (`hosts: [reviews]` routing to
`reviews`), which works: each request keeps a port `reviews` has. This rule follows
what Envoy does instead, as far as the workspace shows the listeners.

## How sure it is

- **error**: a listener the workspace shows receives on a port the Service does not
  expose: a Gateway server bound to the VirtualService (HTTP, or HTTPS that terminates
  TLS; not one that redirects to HTTPS), or a port named for HTTP (`http`, `http-…`,
  `grpc…`) of the service in `hosts`. A mirror is a warning (the copies are lost, not
  the requests), and so is a route of weight 0 (nothing fails until its weight is
  raised, as Argo Rollouts and Flagger do).
- **information**: it may fail, but the workspace cannot tell: a Gateway or the
  service in `hosts` is not in the workspace, several services may be meant (namespace
  not known), the VirtualService is a delegate (no `hosts`) or picks gateways per
  match, the routes are TCP or TLS, or the failing port is unnamed (its protocol is
  sniffed) or a ServiceEntry's.
- **not reported**: every listener the workspace shows is a port the Service exposes;
  the Service has one port; its ports are not all known (a placeholder, a kustomize
  patch); the host is not found (see `destination-host-not-found`).

## Wrong

```yaml
kind: Service
metadata: {name: api, namespace: shop}
spec:
  ports: [{name: http, port: 8080}, {name: http-metrics, port: 9090}]
---
kind: VirtualService
metadata: {name: api, namespace: shop}
spec:
  hosts: [api.example.com]
  gateways: [shop-gateway]      # a server on port 80
  http:
  - route:
    - destination: {host: api}
```

## Right

```yaml
    - destination: {host: api, port: {number: 8080}}
```

## Fixes

**Route to port N**, one per port the Service exposes (preferred when a single one of
them is named for HTTP). It changes where requests go on every listener, so it is
never applied unasked.

Related: `istioctl analyze` IST0112 VirtualServiceDestinationPortSelectorRequired.
"""

_HTTP_NAMES = ("http", "http2", "grpc")


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for vs in summary.resources:
        if not isinstance(vs, VirtualService) or may_be_patched(ctx.index, vs, "port"):
            continue  # a build may add the ports the files do not show
        uses_by_protocol: dict[str, Uses] = {}
        for dest in vs.destinations:
            if dest.port_given:
                continue
            found = exposure(ctx, vs, dest.host.value)
            if found is None or any(len(ports) < 2 for ports in found.ports):
                continue  # a Service with one port is used whatever the listener
            if dest.protocol not in uses_by_protocol:
                uses_by_protocol[dest.protocol] = listener_ports(ctx, vs, dest.protocol)
            uses = uses_by_protocol[dest.protocol]
            exposed = set(found.union)
            failing = _unique([u for u in uses.uses if u.port not in exposed])
            if not failing and uses.complete:
                continue  # every listener the workspace shows keeps a port the Service has
            yield _finding(ctx, vs, dest, found, uses, failing)


def _finding(
    ctx: Context, vs: VirtualService, dest: Destination, found: Exposure, uses: Uses, failing: list[Use]
) -> Finding:
    host = dest.host.value
    pairs = list(zip(found.providers, found.ports, strict=True))
    if found.single is not None:
        service = found.single.display
        message = f"This destination names no port, and {service} exposes several ({port_list(found.ports[0])})"
    else:
        service = "none of them"
        listed = "; ".join(f"{p.display}: {port_list(ports)}" for p, ports in pairs)
        message = f"This destination names no port, and every service `{host}` may mean exposes several ({listed})"
    message += ": each request keeps the port it came in on, which works only where that is one of them."
    certain = [u for u in failing if u.certain]
    severity = Severity.INFORMATION
    if certain and found.single is not None:
        where = " and ".join(u.where for u in certain)
        ports = sorted({u.port for u in certain})
        missing = " or ".join(str(p) for p in ports)
        those = "that port" if len(ports) == 1 else "those ports"
        severity, consequence = unreachable_port(dest)
        message += (
            f" It is used on {where}, and {service} has no port {missing}: "
            f"Envoy has no cluster for `{host}` on {those}, and {consequence}."
        )
    else:
        if failing:
            where = " and ".join(u.where for u in failing)
            exposes = "exposes" if found.single is None else "does not expose"
            message += f" It may be used on {where}, which {service} {exposes}."
        if not uses.complete:
            reasons = "; ".join(dict.fromkeys(uses.unknown))
            message += f" The workspace does not show every listener it is used on: {reasons}."
    message += " istioctl analyze reports it (IST0112)."
    return ctx.finding(
        RULE,
        vs,
        dest.host.span,
        message,
        severity=severity,
        related=[related_to(p, f"exposes {port_list(ports)}") for p, ports in pairs],
        fixes=_fixes(vs, dest, found),
    )


def _unique(uses: list[Use]) -> list[Use]:
    seen: set[tuple[int, str]] = set()
    out = []
    for use in uses:
        if (use.port, use.where) not in seen:
            seen.add((use.port, use.where))
            out.append(use)
    return out


def _fixes(vs: VirtualService, dest: Destination, found: Exposure) -> list[Fix]:
    ports = found.union
    http_named = [
        port.port
        for provider in found.providers
        if isinstance(provider, Service)
        for port in provider.ports
        if (port.name or "").lower().split("-", 1)[0] in _HTTP_NAMES
    ]
    preferred = http_named[0] if dest.protocol == "http" and len(set(http_named)) == 1 else None
    return [
        Fix(f"Route to port {port}", (_insert_port(vs, dest, port),), preferred=port == preferred, safe=False)
        for port in ports
    ]


def _insert_port(vs: VirtualService, dest: Destination, port: int) -> TextEdit:
    """`port: {number: N}` right after the host value: a block key on a line of its own, or a flow
    entry (`{host: api, port: {number: 8080}}`)."""
    line, end = dest.host.span.end_line, dest.host.span.end_char
    at = Span(line, end, line, end)
    if dest.key_column is None:
        return TextEdit(vs.uri, at, f", port: {{number: {port}}}")
    indent = " " * dest.key_column
    return TextEdit(vs.uri, at, f"\n{indent}port:\n{indent}  number: {port}")


RULE = Rule(
    code="destination-port-missing",
    severity=Severity.ERROR,
    summary="A destination without a port, to a Service of several ports, used on a port that Service lacks.",
    doc=DOC,
    run=run,
    istio_codes=("IST0112",),
)
