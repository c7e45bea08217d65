"""mesh-route-service-not-found: a mesh (GAMMA) route's parentRef names a Service the workspace does not declare,
or a port the Service does not have."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity, related_to, replace_fixes
from istio_lsp.checks.gateway_api._attach import is_service_parent, parent_namespace, routes_of
from istio_lsp.checks.gateway_api._backends import missing_service, service_ports, set_port_fixes
from istio_lsp.index import FileSummary
from istio_lsp.index.resolve import nearest
from istio_lsp.model.hosts import glob_match, service_fqdn
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import GatewayParentRef, KubernetesRoute

DOC = """\
A mesh route (GAMMA: a route whose parentRef is a Service, `group: ""`, `kind: Service`)
names a Service that no resource in the workspace declares, or a `port` that Service does
not expose.

## Why it matters

A mesh route applies to the traffic sent to its parent Service (on `port`, when given).
For a missing Service, Istio's controller sets the route's `Accepted` condition to False
("parent service not found"); for a port the Service lacks, no traffic ever matches. Either
way the route changes nothing.

## How sure it is

As for `destination-host-not-found`: a missing Service is a warning only with evidence
that it belongs in the workspace (a build renaming it, a Service of that name in another
namespace, one a typing mistake away), otherwise information. A missing port is a warning.

## Wrong

```yaml
kind: HTTPRoute
metadata: {name: reviews, namespace: shop}
spec:
  parentRefs:
  - {group: "", kind: Service, name: reviews, port: 8080}   # the Service listens on 9080
```

## Right

```yaml
  - {group: "", kind: Service, name: reviews, port: 9080}
```

## Fixes

**Did you mean `x`?** for Services with a close name; **Set the port to N** when the Service
has one port.

Related: Istio's route status `Accepted=False`, reason `NoMatchingParent`; Kiali KIA1402
(its parentRef part).
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for route in routes_of(summary.resources):
        for parent in route.parents:
            if is_service_parent(parent) and parent.name is not None and not is_placeholder(parent.name.value):
                yield from _check(ctx, route, parent)


def _check(ctx: Context, route: KubernetesRoute, parent: GatewayParentRef) -> Iterator[Finding]:
    assert parent.name is not None
    name = parent.name.value
    namespace = parent_namespace(route, parent)
    fqdn = service_fqdn(name, namespace, ctx.settings.cluster_domain)
    if is_placeholder(namespace) or glob_match(ctx.settings.external_hosts, fqdn):
        return
    services = nearest(ctx.index, ctx.index.services_for([fqdn]), route)
    if services:
        ports = service_ports(services)
        if parent.port is None or parent.port_span is None or ports is None or parent.port in ports:
            return
        message = (
            f"{services[0].display} has no port {parent.port} (its ports: {', '.join(map(str, ports))}): "
            f"no traffic matches this mesh route, which changes nothing."
        )
        related = [related_to(services[0], "the parent Service")]
        fixes = set_port_fixes(route.uri, parent.port_span, ports)
        yield ctx.finding(RULE, route, parent.port_span, message, related=related, fixes=fixes)
        return
    missing = missing_service(ctx, route, name, namespace)
    message = (
        f"No Service `{missing.shown}` in the workspace: Istio sets this mesh {route.kind}'s Accepted condition to "
        f"False (parent service not found) and the route applies to no traffic.{missing.why}"
    )
    yield ctx.finding(
        RULE,
        route,
        parent.name.span,
        message,
        severity=missing.severity,
        fixes=list(replace_fixes(route.uri, parent.name, missing.suggestions)),
    )


RULE = Rule(
    code="mesh-route-service-not-found",
    severity=Severity.WARNING,
    summary="A mesh (GAMMA) route whose parent Service is not in the workspace, or lacks the parentRef port.",
    doc=DOC,
    run=run,
    kiali_codes=("KIA1402",),
)
