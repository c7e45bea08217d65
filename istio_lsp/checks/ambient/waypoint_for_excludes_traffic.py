"""waypoint-for-excludes-traffic: a waypoint whose `istio.io/waypoint-for` leaves out the traffic sent to it."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.ambient._dataplane import (
    NONE,
    SERVICE_KINDS,
    TRAFFIC_TYPES,
    USE_WAYPOINT,
    WAYPOINT_FOR,
    gateways_named,
    label,
    traffic_type,
    waypoint_use,
)
from istio_lsp.checks.ambient.use_waypoint_not_found import labelled
from istio_lsp.checks.base import Context, Finding, Fix, Rule, Severity, TextEdit, close_matches, related_to
from istio_lsp.index import FileSummary
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import KubernetesGateway, Resource

DOC = """\
A Service, ServiceEntry, pod template or WorkloadEntry names a waypoint with
`istio.io/use-waypoint`, and the waypoint does not serve that kind of traffic: its
`istio.io/waypoint-for` label (on the Gateway, else on its GatewayClass; `service` when
neither says) is `workload` for a Service, `service` for a workload, or `none`. Also
reported: a Namespace whose waypoint serves `none`, and a Gateway whose
`istio.io/waypoint-for` is not one of `service`, `workload`, `all`, `none`.

## Why it matters

A waypoint handles either the traffic addressed to Services (`service`, the default),
the traffic addressed to pods directly (`workload`), both (`all`) or none. istiod binds
an object to a waypoint only when the waypoint serves its traffic; otherwise it sets
`istio.io/WaypointBound=False` with reason `UnsupportedTrafficType` and the traffic
skips the waypoint, so its L7 policies and routes do not apply. A pod that inherits a
service-only waypoint from its Namespace is not an error (it is the usual setup); a pod
labelled itself is. Istio compares the value as written: any other value serves nothing.

## Wrong

```yaml
kind: Deployment
spec:
  template:
    metadata:
      labels: {app: reviews, istio.io/use-waypoint: waypoint}
---
kind: Gateway
apiVersion: gateway.networking.k8s.io/v1
metadata: {name: waypoint}          # no istio.io/waypoint-for: service traffic only
spec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}
```

## Right

```yaml
metadata:
  name: waypoint
  labels: {istio.io/waypoint-for: all}
```

## Fixes

**Let the waypoint serve `all` traffic**: when the Gateway writes its own
`istio.io/waypoint-for`. **Set it to `x`**: for a value that is not one of the four.

Related: no `istioctl analyze` code before deployment; on a live cluster the condition
shows up as IST0171.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for resource in summary.resources:
        if isinstance(resource, KubernetesGateway):
            yield from _unknown_value(ctx, resource)
        elif labelled(resource):
            yield from _excluded(ctx, resource)


def _unknown_value(ctx: Context, gateway: KubernetesGateway) -> Iterator[Finding]:
    written = label(gateway, WAYPOINT_FOR)
    if written is None or written.value.value in TRAFFIC_TYPES or is_placeholder(written.value.value):
        return
    value = written.value.value
    message = (
        f"`{WAYPOINT_FOR}: {value}` is none of `service`, `workload`, `all`, `none`: Istio compares the value as "
        f"written, so this waypoint serves neither Service nor workload traffic and nothing is bound to it."
    )
    choices = close_matches(value.strip().lower(), TRAFFIC_TYPES, limit=1)
    fixes = [Fix(f"Set it to `{c}`", (TextEdit(gateway.uri, written.value.span, c),), preferred=True) for c in choices]
    yield ctx.finding(RULE, gateway, written.value.span, message, fixes=fixes)


def _needs(resource: Resource) -> str:
    if resource.kind == "Namespace":
        return "namespace"
    return "service" if resource.kind in SERVICE_KINDS else "workload"


def _excluded(ctx: Context, resource: Resource) -> Iterator[Finding]:
    use = waypoint_use(resource)
    if use is None or is_placeholder(use.name) or is_placeholder(use.namespace):
        return
    gateways = gateways_named(ctx.index, use.namespace, use.name)
    if not gateways:
        return  # use-waypoint-not-found
    verdicts = {traffic_type(ctx.index, g) for g in gateways}
    if len({t for t, _ in verdicts}) != 1:
        return  # copies of the Gateway that disagree
    served, source = verdicts.pop()
    if served not in TRAFFIC_TYPES:
        return  # reported on the Gateway
    needs = _needs(resource)
    if served == "all" or served == needs or (needs == "namespace" and served != NONE):
        return
    gateway = gateways[0]
    if source is None:
        said = f"its Gateway sets no `{WAYPOINT_FOR}` (nor does its GatewayClass), so it serves `service` traffic"
    elif source is gateway:
        said = f"its Gateway is labelled `{WAYPOINT_FOR}: {served}`"
    else:
        said = f"its GatewayClass `{source.name}` is labelled `{WAYPOINT_FOR}: {served}`"
    what = {
        "service": f"this {resource.kind}'s traffic (addressed to the service)",
        "workload": "the traffic addressed to these pods directly",
        "namespace": "any traffic of this Namespace",
    }[needs]
    wanted = "`service`, `workload` or `all`" if needs == "namespace" else f"`{needs}` or `all`"
    message = (
        f"Waypoint `{gateway.namespace}/{gateway.name}` does not serve {what}: {said}. istiod does not bind it "
        f"(`WaypointBound=False`, UnsupportedTrafficType) and the traffic skips the waypoint, with its L7 routes and "
        f"policies. Label the Gateway `{WAYPOINT_FOR}:` {wanted}, or remove `{USE_WAYPOINT}` here."
    )
    fixes: list[Fix] = []
    own = label(gateway, WAYPOINT_FOR)
    if own is not None and source is gateway and len(gateways) == 1:
        quote = own.value.quote
        edit = TextEdit(gateway.uri, own.value.span, f"{quote}all{quote}")
        fixes.append(Fix("Let the waypoint serve `all` traffic", (edit,), preferred=True, safe=False))
    related = [related_to(g, f"waypoint; serves `{served}`") for g in gateways[:2]]
    if source is not None and source is not gateway:
        related.append(related_to(source, f"sets `{WAYPOINT_FOR}: {served}`"))
    yield ctx.finding(RULE, resource, use.use.value.span, message, related=related, fixes=fixes)


RULE = Rule(
    code="waypoint-for-excludes-traffic",
    severity=Severity.WARNING,
    summary="A waypoint whose `istio.io/waypoint-for` does not serve the traffic that names it",
    doc=DOC,
    run=run,
)
