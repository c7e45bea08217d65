"""use-waypoint-not-found: an `istio.io/use-waypoint` label naming no Gateway API Gateway in the files."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.ambient._dataplane import (
    USE_WAYPOINT,
    USE_WAYPOINT_NAMESPACE,
    WAYPOINT_CLASS,
    WaypointUse,
    all_gateways,
    gateways_named,
    waypoint_use,
)
from istio_lsp.checks.base import (
    Context,
    Finding,
    Rule,
    Severity,
    close_matches,
    likely_typo,
    related_to,
    replace_fixes,
)
from istio_lsp.index import FileSummary
from istio_lsp.model.hosts import ANY_NAMESPACE, glob_match, namespaces_match
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import Resource, Workload

DOC = """\
A Namespace, Service, ServiceEntry, WorkloadEntry or pod template carries
`istio.io/use-waypoint: NAME`, and the workspace has no Gateway API Gateway `NAME` in
the namespace it names: the labelled object's own, or the one
`istio.io/use-waypoint-namespace` gives.

## Why it matters

In ambient mode, L7 processing (HTTP routing, HTTP authorization, telemetry) happens
only in a waypoint: a `gateway.networking.k8s.io` Gateway, normally of class
`istio-waypoint`, that the labelled traffic is sent through. When the Gateway does not
exist, istiod sets `istio.io/WaypointBound=False` (reason `WaypointIsNotReady`) on the
Service and sends the traffic straight to the pods: every policy and route attached to
the waypoint is skipped, and L7 AuthorizationPolicies meant for it are not enforced.
The value `none` opts an object out of its Namespace's waypoint and is never reported.

## How sure it is

Waypoints are often created beside the application by `istioctl waypoint apply`, or
by a platform team, so a missing one is a warning only with evidence:

| situation | severity |
|---|---|
| a Gateway of that name is in another namespace (add `istio.io/use-waypoint-namespace`) | warning |
| a Gateway a typing mistake away is in that namespace | warning |
| nothing close in the workspace | information |
| the `externalGateways` setting matches `namespace/name` | not reported |
| a Gateway of that name is in the namespace (whatever its class) | not reported |

## Wrong

```yaml
kind: Namespace
metadata:
  name: shop
  labels:
    istio.io/dataplane-mode: ambient
    istio.io/use-waypoint: waypiont
---
kind: Gateway
apiVersion: gateway.networking.k8s.io/v1
metadata: {name: waypoint, namespace: shop}
spec:
  gatewayClassName: istio-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
```

## Right

```yaml
    istio.io/use-waypoint: waypoint
```

## Fixes

**Did you mean `x`?** for Gateways of a close name in that namespace.

Related: Kiali KIA1313; `istioctl analyze` reports the resulting status condition only
on a live cluster (IST0171).
"""

_KINDS = frozenset({"Namespace", "Service", "ServiceEntry", "WorkloadEntry"})


def labelled(resource: Resource) -> bool:
    """The kinds whose `istio.io/use-waypoint` Istio reads (a workload's: on its pods)."""
    return resource.kind in _KINDS or isinstance(resource, Workload)


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    index = ctx.index
    for resource in summary.resources:
        if not labelled(resource):
            continue
        use = waypoint_use(resource)
        if use is None or is_placeholder(use.name) or is_placeholder(use.namespace):
            continue
        if gateways_named(index, use.namespace, use.name):
            continue
        if glob_match(ctx.settings.external_gateways, f"{use.namespace}/{use.name}"):
            continue
        yield _finding(ctx, resource, use)


def _finding(ctx: Context, resource: Resource, use: WaypointUse) -> Finding:
    where = "the namespace it is deployed to" if use.namespace == ANY_NAMESPACE else f"namespace `{use.namespace}`"
    message = (
        f"`{USE_WAYPOINT}: {use.name}` names no Gateway API Gateway `{use.name}` in {where} in the workspace. "
        f"Without it istiod marks the binding `WaypointBound=False` (WaypointIsNotReady) and the traffic skips "
        f"the waypoint: L7 routes and policies attached to it do not apply."
    )
    gateways = all_gateways(ctx.index)
    here = [g for g in gateways if namespaces_match(g.namespace, use.namespace)]
    suggestions = close_matches(use.name, sorted({g.name for g in here}))
    namesakes = [g for g in gateways if g.name == use.name and not namespaces_match(g.namespace, use.namespace)]
    related = [related_to(g, f"Gateway API Gateway `{g.namespace}/{g.name}`") for g in namesakes[:3]]
    if namesakes:
        listed = ", ".join(f"`{g.namespace}`" for g in namesakes[:3])
        severity = Severity.WARNING
        message += (
            f" A Gateway of that name is in {listed}: a waypoint in another namespace is named with "
            f"`{USE_WAYPOINT_NAMESPACE}`"
            + (f" (now `{use.namespace}`)." if use.namespace_label is not None else ", which is not set.")
        )
    elif any(likely_typo(use.name, s) for s in suggestions):
        severity = Severity.WARNING
    else:
        severity = Severity.INFORMATION
        message += (
            f" The workspace has no Gateway of a close name there: if the waypoint is created elsewhere "
            f"(`istioctl waypoint apply`, a platform repository), list it in the externalGateways setting. A "
            f"waypoint is a Gateway of class `{WAYPOINT_CLASS}` with an HBONE listener on port 15008."
        )
    return ctx.finding(
        RULE,
        resource,
        use.use.value.span,
        message,
        severity=severity,
        related=related,
        fixes=list(replace_fixes(resource.uri, use.use.value, suggestions)),
    )


RULE = Rule(
    code="use-waypoint-not-found",
    severity=Severity.WARNING,
    summary="An `istio.io/use-waypoint` label naming no Gateway API Gateway in the workspace",
    doc=DOC,
    run=run,
    kiali_codes=("KIA1313",),
)
