"""envoyfilter-replace-misused: REPLACE on an `applyTo` istiod does not replace."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Rule
from istio_lsp.checks.envoyfilters._patches import REPLACEABLE, at, is_envoy_filter, operation
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding, Severity

DOC = """\
An EnvoyFilter patch uses `operation: REPLACE` with an `applyTo` that istiod does not
replace: anything but HTTP_FILTER, NETWORK_FILTER, LISTENER_FILTER and VIRTUAL_HOST
(CLUSTER, LISTENER, FILTER_CHAIN, ROUTE_CONFIGURATION, HTTP_ROUTE, EXTENSION_CONFIG…).

## Why it matters

The API server accepts the EnvoyFilter, and istiod skips the patch when it builds the
proxy's configuration: the cluster, listener or route keeps what Istio generated, and
nothing says so.

## Wrong

```yaml
- applyTo: CLUSTER
  match: {cluster: {service: reviews.shop.svc.cluster.local}}
  patch:
    operation: REPLACE
    value: {connect_timeout: 2s}
```

## Right

```yaml
- applyTo: CLUSTER
  match: {cluster: {service: reviews.shop.svc.cluster.local}}
  patch:
    operation: MERGE      # changes the fields the value sets, keeps the others
    value: {connect_timeout: 2s}
```

To swap a whole cluster or listener, REMOVE it in one patch and ADD the new one in
another.

## Fixes

None: MERGE keeps the fields the value does not set, which is not what REPLACE says.

Related: `istioctl analyze` IST0152 EnvoyFilterUsesReplaceOperationIncorrectly. It also
reports REPLACE on LISTENER_FILTER, which istiod applies (since listener filter patches
exist); this check does not.
"""

_INSTEAD = {
    "CLUSTER": "Use MERGE to change fields of the cluster, or REMOVE it and ADD the new one in a second patch.",
    "LISTENER": "Use MERGE to change fields of the listener, or REMOVE it and ADD the new one in a second patch.",
    "FILTER_CHAIN": "Use MERGE to change fields of the filter chain, or REMOVE it and ADD the new one.",
    "ROUTE_CONFIGURATION": "Use MERGE to change fields of the route configuration.",
    "HTTP_ROUTE": "Use MERGE to change fields of the route, or REMOVE it and INSERT_BEFORE/INSERT_AFTER a neighbour.",
    "EXTENSION_CONFIG": "An EXTENSION_CONFIG patch can only ADD an extension configuration.",
}


def check(ctx: DocumentContext) -> Iterator[Finding]:
    ef = ctx.resource
    if not is_envoy_filter(ef):
        return
    for patch in ef.patches:
        if operation(patch) != "REPLACE" or patch.apply_to is None or patch.apply_to in REPLACEABLE:
            continue
        instead = _INSTEAD.get(patch.apply_to, "Use MERGE to change fields of the object.")
        yield ctx.finding(
            RULE.code,
            RULE.severity,
            at(patch),
            f"istiod applies REPLACE only to HTTP_FILTER, NETWORK_FILTER, LISTENER_FILTER and VIRTUAL_HOST "
            f"patches: it skips this {patch.apply_to} patch, and the proxy keeps what Istio generated. {instead}",
        )


RULE = Rule(
    code="envoyfilter-replace-misused",
    severity=Severity.ERROR,
    summary="An EnvoyFilter patch REPLACEs an object istiod does not replace: the patch is skipped.",
    doc=DOC,
    local=check,
    kinds=("EnvoyFilter",),
    istio_codes=("IST0152",),
)
