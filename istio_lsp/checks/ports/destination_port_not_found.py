"""destination-port-not-found: a destination's `port.number` that the Service behind its host does not expose."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Fix, Rule, Severity, TextEdit
from istio_lsp.checks.ports._exposure import (
    Exposure,
    exposing,
    exposure,
    mapped_to,
    not_exposed,
    target_port_hint,
    unreachable_port,
)
from istio_lsp.index import FileSummary
from istio_lsp.index.patches import may_be_patched
from istio_lsp.model.resources import Destination, VirtualService

DOC = """\
A route or mirror destination names a `port.number` that the Service behind its host
does not expose (the Service's `spec.ports[].port`; for a ServiceEntry host, its
`spec.ports[].number`).

## Why it matters

Istio makes one Envoy cluster per port a service exposes, named after the host and that
port. A destination port is looked up among those clusters, not among the pods'
container ports: the Service port is what counts, not its `targetPort`. A port the
Service does not expose has no cluster, and every request the route sends there fails
with 503 (response flag NC, cluster not found). Typical causes: the container port
written instead of the Service port (`8080` for a Service that maps `80 → 8080`), or a
Service port renumbered without updating the routes.

## How sure it is

| situation | severity |
|---|---|
| the host resolves to Services or ServiceEntries, and none of them exposes the port | error |
| the same for a mirror, or a route of weight 0 (no request fails until its weight is raised) | warning |
| the host is not found, hidden, external, or a placeholder | not reported (see `destination-host-not-found`) |
| a provider's ports are not all known (a placeholder, no `ports`) | not reported |

When the namespace is not known and several Services could be meant, the port is fine
if any of them exposes it.

## Wrong

```yaml
kind: Service
metadata: {name: reviews, namespace: bookinfo}
spec:
  ports: [{name: http, port: 9080, targetPort: 8080}]
---
kind: VirtualService
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, port: {number: 8080}}
```

## Right

```yaml
    - destination: {host: reviews, port: {number: 9080}}
```

## Fixes

**Use port N**, for each port the Service exposes (preferred when it exposes one, or
when the port written is the `targetPort` of exactly one of them).

Related: `istioctl analyze` IST0101 ReferencedResourceNotFound (reference type
`host:port`).
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for vs in summary.resources:
        if not isinstance(vs, VirtualService) or may_be_patched(ctx.index, vs, "port"):
            continue  # a build may rewrite the ports as the files do not show
        for dest in vs.destinations:
            if dest.port is None or dest.port_span is None:
                continue  # no port, or one that is not a number (a placeholder, a typo the schema reports)
            found = exposure(ctx, vs, dest.host.value)
            if found is None or dest.port in found.union:
                continue
            yield _finding(ctx, vs, dest, found)


def _finding(ctx: Context, vs: VirtualService, dest: Destination, found: Exposure) -> Finding:
    assert dest.port is not None and dest.port_span is not None
    host = dest.host.value
    severity, consequence = unreachable_port(dest)
    message = (
        f"{not_exposed(found, host, dest.port)}: Envoy has no cluster for `{host}:{dest.port}`, and {consequence}."
    )
    message += target_port_hint(found, dest.port, "routes name the Service port")
    return ctx.finding(
        RULE,
        vs,
        dest.port_span,
        message,
        severity=severity,
        related=exposing(found),
        fixes=_fixes(vs, dest, found),
    )


def _fixes(vs: VirtualService, dest: Destination, found: Exposure) -> list[Fix]:
    assert dest.port_span is not None and dest.port is not None
    ports = found.union
    mapped = mapped_to(found, dest.port)
    best = ports[0] if len(ports) == 1 else mapped[0] if len(mapped) == 1 else None
    return [
        Fix(
            f"Use port {port}",
            (TextEdit(vs.uri, dest.port_span, str(port)),),
            preferred=port == best,
            safe=len(ports) == 1,
        )
        for port in ports
    ]


RULE = Rule(
    code="destination-port-not-found",
    severity=Severity.ERROR,
    summary="A destination's port number that the Service or ServiceEntry behind its host does not expose.",
    doc=DOC,
    run=run,
    istio_codes=("IST0101",),
)
