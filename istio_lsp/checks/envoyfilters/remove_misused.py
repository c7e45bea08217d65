"""envoyfilter-remove-misused: REMOVE on a route configuration (ignored) or on routes it does not name."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Rule
from istio_lsp.checks.envoyfilters._patches import at, is_envoy_filter, operation
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding, Severity

DOC = """\
An EnvoyFilter patch uses `operation: REMOVE` where it does not do what is meant:

- with `applyTo: ROUTE_CONFIGURATION`, where istiod applies MERGE only and skips the
  patch;
- with `applyTo: HTTP_ROUTE` and no `match.routeConfiguration.vhost.route` that picks
  routes (by `name`, or by an `action` other than ANY). istiod then removes every route
  of each virtual host the patch matches (of every virtual host, without a `vhost`
  match).

## Why it matters

The first changes nothing, silently. The second leaves virtual hosts without a single
route: Envoy answers every request for those hosts with 404 (`NR`, no route). A
`listener` match does not narrow an HTTP_ROUTE patch down (and the API server rejects
it).

## Wrong

```yaml
- applyTo: HTTP_ROUTE
  match:
    routeConfiguration: {vhost: {name: "reviews.shop.svc.cluster.local:9080"}}
  patch:
    operation: REMOVE
```

## Right

```yaml
- applyTo: HTTP_ROUTE
  match:
    routeConfiguration:
      vhost:
        name: "reviews.shop.svc.cluster.local:9080"
        route: {name: legacy-api}       # the route to remove
  patch:
    operation: REMOVE
```

To drop a whole virtual host, REMOVE it with `applyTo: VIRTUAL_HOST`.

## Fixes

None: which route to remove is yours to name.

Related: `istioctl analyze` IST0154 EnvoyFilterUsesRemoveOperationIncorrectly, reported
for every REMOVE on ROUTE_CONFIGURATION or HTTP_ROUTE (the API reference says both are
ignored). istiod does remove the routes an HTTP_ROUTE patch matches, so one that names
its route is not reported here.
"""


def check(ctx: DocumentContext) -> Iterator[Finding]:
    ef = ctx.resource
    if not is_envoy_filter(ef):
        return
    for patch in ef.patches:
        if operation(patch) != "REMOVE":
            continue
        if patch.apply_to == "ROUTE_CONFIGURATION":
            yield ctx.finding(
                RULE.code,
                RULE.severity,
                at(patch),
                "istiod applies only MERGE to a ROUTE_CONFIGURATION patch: it skips this REMOVE, and the route "
                "configuration stays. To drop a virtual host, REMOVE it with `applyTo: VIRTUAL_HOST`; to drop a "
                "route, use `applyTo: HTTP_ROUTE` with a `routeConfiguration.vhost.route` match.",
            )
        elif patch.apply_to == "HTTP_ROUTE" and not patch.route_match:
            hosts = "each virtual host the patch matches" if patch.vhost_match else "every virtual host"
            listener = " (a `listener` match does not select routes)" if patch.listener_match else ""
            yield ctx.finding(
                RULE.code,
                RULE.severity,
                at(patch),
                f"This REMOVE names no route in `match.routeConfiguration.vhost.route`{listener}, so istiod "
                f"removes every route of {hosts}, and Envoy answers their requests with 404 (no route). Name the "
                f"route to remove, or REMOVE the VIRTUAL_HOST if the host should go.",
            )


RULE = Rule(
    code="envoyfilter-remove-misused",
    severity=Severity.ERROR,
    summary="An EnvoyFilter REMOVEs a route configuration (skipped) or every route of its virtual hosts.",
    doc=DOC,
    local=check,
    kinds=("EnvoyFilter",),
    istio_codes=("IST0154",),
)
