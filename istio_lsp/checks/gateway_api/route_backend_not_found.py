"""route-backend-not-found: a route backendRef names a Service (or ServiceEntry host) the workspace does not
declare, or a port the Service does not have (BackendNotFound)."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity, close_matches, related_to, replace_fixes
from istio_lsp.checks.gateway_api._attach import routes_of
from istio_lsp.checks.gateway_api._backends import (
    backends,
    group_kind,
    missing_service,
    service_ports,
    set_port_fixes,
    target_namespace,
)
from istio_lsp.index import FileSummary
from istio_lsp.index.resolve import nearest
from istio_lsp.model.hosts import ANY_NAMESPACE, glob_match, host_candidates, service_fqdn
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import GatewayBackendRef, KubernetesRoute, Service

DOC = """\
A route's `backendRefs` item names a Service that no resource in the workspace declares
(in the backendRef's `namespace`, else the route's own), a `Hostname` (group
`networking.istio.io`) that no ServiceEntry or Service provides, or a `port` the Service
does not expose.

## Why it matters

For a missing backend Istio's controller sets the route's `ResolvedRefs` condition to
False (reason `BackendNotFound`) and answers that backend's share of requests with 500.
A port the Service lacks leaves Envoy without endpoints for it: those requests fail too.
A Service `name` with dots (`reviews.shop`) is a hostname, not a name: Istio rejects it.

## How sure it is

Services often come from elsewhere (charts, operators, other repositories), so a missing
Service is a warning only with evidence that it belongs in the workspace (the same as
`destination-host-not-found`): a build renaming it, a Service of that name in another
namespace, or one a typing mistake away. Otherwise information. A port the Service lacks
is a warning when the workspace declares the Service; hosts matching the `externalHosts`
setting and placeholders are not reported.

## Wrong

```yaml
    backendRefs:
    - name: reveiws
      port: 9080
```

## Right

```yaml
    backendRefs:
    - name: reviews
      port: 9080
```

## Fixes

**Did you mean `x`?** for Services with a close name; **Set the port to N** when the Service
has one port.

Related: Istio's route status `ResolvedRefs=False`, reason `BackendNotFound`; the Gateway API
conformance test `HTTPRouteInvalidNonExistentBackendRef`; Kiali KIA1402.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for route in routes_of(summary.resources):
        for ref in backends(route):
            if ref.name is None or is_placeholder(ref.name.value):
                continue
            group_and_kind = group_kind(ref)
            if group_and_kind == ("", "Service"):
                yield from _service(ctx, route, ref)
            elif group_and_kind == ("networking.istio.io", "Hostname"):
                yield from _hostname(ctx, route, ref)


def _service(ctx: Context, route: KubernetesRoute, ref: GatewayBackendRef) -> Iterator[Finding]:
    assert ref.name is not None
    name = ref.name.value
    namespace = target_namespace(route, ref)
    if is_placeholder(namespace):
        return
    if "." in name:
        short = name.partition(".")[0]
        yield ctx.finding(
            RULE,
            route,
            ref.name.span,
            f"`{name}` is a hostname, not a Service name: Istio rejects the backendRef (ResolvedRefs False) and "
            f"answers its requests with 500. Write the Service's name (`{short}`) and, for another namespace, "
            f"`namespace`.",
            severity=Severity.ERROR,
            fixes=list(replace_fixes(route.uri, ref.name, [short])),
        )
        return
    domain = ctx.settings.cluster_domain
    fqdn = service_fqdn(name, namespace, domain)
    if glob_match(ctx.settings.external_hosts, fqdn):
        return
    services = nearest(ctx.index, ctx.index.services_for([fqdn]), route)
    if services:
        yield from _port(ctx, route, ref, services)
        return
    if ctx.index.service_entries_for([fqdn]):
        return  # a ServiceEntry registers the name (Istio resolves the Service's host)
    missing = missing_service(ctx, route, name, namespace)
    message = (
        f"No Service `{missing.shown}` in the workspace: Istio sets the {route.kind}'s ResolvedRefs condition to "
        f"False (BackendNotFound) and answers this backend's share of requests with 500.{missing.why}"
    )
    yield ctx.finding(
        RULE,
        route,
        ref.name.span,
        message,
        severity=missing.severity,
        fixes=list(replace_fixes(route.uri, ref.name, missing.suggestions)),
    )


def _port(ctx: Context, route: KubernetesRoute, ref: GatewayBackendRef, services: list[Service]) -> Iterator[Finding]:
    ports = service_ports(services)
    if ref.port is None or ref.port_span is None or ports is None or ref.port in ports:
        return
    service = services[0]
    message = (
        f"{service.display} has no port {ref.port} (its ports: {', '.join(map(str, ports))}): Envoy has no "
        f"endpoints for this backend and its share of requests fails. backendRef `port` is the Service's port, "
        f"not the container's."
    )
    yield ctx.finding(
        RULE,
        route,
        ref.port_span,
        message,
        severity=Severity.WARNING,
        related=[related_to(service, "the Service")],
        fixes=set_port_fixes(route.uri, ref.port_span, ports),
    )


def _hostname(ctx: Context, route: KubernetesRoute, ref: GatewayBackendRef) -> Iterator[Finding]:
    assert ref.name is not None
    host = ref.name.value
    domain = ctx.settings.cluster_domain
    candidates = host_candidates(host, route.namespace, domain)
    if glob_match(ctx.settings.external_hosts, host) or "*" in host:
        return
    if ctx.index.service_entries_for(candidates) or ctx.index.services_for(candidates):
        return
    entries = sorted(
        {h.value for e in ctx.index.of_kind(ANY_NAMESPACE, "ServiceEntry") for h in getattr(e, "hosts", [])}
    )
    suggestions = close_matches(host, entries)
    severity = Severity.WARNING if suggestions else Severity.INFORMATION
    message = (
        f"No ServiceEntry or Service in the workspace provides host `{host}`: Istio sets the {route.kind}'s "
        f"ResolvedRefs condition to False (BackendNotFound) and answers this backend's share of requests with 500."
    )
    if not suggestions:
        message += " It may be declared elsewhere (see the externalHosts setting)."
    yield ctx.finding(
        RULE,
        route,
        ref.name.span,
        message,
        severity=severity,
        fixes=list(replace_fixes(route.uri, ref.name, suggestions)),
    )


RULE = Rule(
    code="route-backend-not-found",
    severity=Severity.WARNING,
    summary="A route backendRef to a Service or host not in the workspace, or a port it lacks (BackendNotFound).",
    doc=DOC,
    run=run,
    kiali_codes=("KIA1402",),
)
