"""envoyfilter-add-misused: ADD on a route configuration (ignored) or on routes (appended last)."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Rule
from istio_lsp.checks.envoyfilters._patches import at, is_envoy_filter, operation
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding, Fix, Severity, TextEdit
from istio_lsp.model.resources import EnvoyPatch

DOC = """\
An EnvoyFilter patch uses `operation: ADD` where it does not do what it says:

- with `applyTo: ROUTE_CONFIGURATION`, where istiod applies MERGE only and skips the
  patch (error);
- with `applyTo: HTTP_ROUTE`, where istiod appends the route after the routes Istio
  generated for each virtual host the patch matches (every virtual host, without a
  `routeConfiguration.vhost` match). Envoy takes the first route that matches, and
  those virtual hosts nearly always end with a catch-all route (`prefix: /`), so the
  added route is reached only by requests nothing before it matches (warning).

## Why it matters

The first case changes nothing, silently. In the second the route is there, in
`istioctl proxy-config routes`, and still never used.

## Wrong

```yaml
- applyTo: HTTP_ROUTE
  match:
    routeConfiguration: {vhost: {name: "reviews.shop.svc.cluster.local:9080"}}
  patch:
    operation: ADD
    value: {name: maintenance, match: {prefix: /admin}, direct_response: {status: 503}}
```

## Right

```yaml
  patch:
    operation: INSERT_FIRST        # ahead of the generated routes
```

or INSERT_BEFORE with a `routeConfiguration.vhost.route` match to place it before a
given route. To add a virtual host, ADD it with `applyTo: VIRTUAL_HOST`.

## Fixes

For HTTP_ROUTE: use INSERT_FIRST (unsafe: the route then comes before every other one
of the virtual host).

Related: `istioctl analyze` IST0153 EnvoyFilterUsesAddOperationIncorrectly, an error for
both. The API reference says ADD is ignored for HTTP_ROUTE; istiod appends the route, so
this check reports it as a warning about where the route lands.
"""


def check(ctx: DocumentContext) -> Iterator[Finding]:
    ef = ctx.resource
    if not is_envoy_filter(ef):
        return
    for patch in ef.patches:
        if operation(patch) != "ADD":
            continue
        if patch.apply_to == "ROUTE_CONFIGURATION":
            yield ctx.finding(
                RULE.code,
                RULE.severity,
                at(patch),
                "istiod applies only MERGE to a ROUTE_CONFIGURATION patch: it skips this ADD, and the route "
                "configuration stays as Istio generated it. To add a virtual host, ADD it with "
                "`applyTo: VIRTUAL_HOST`; to change the route configuration, use MERGE.",
            )
        elif patch.apply_to == "HTTP_ROUTE":
            hosts = "each virtual host the patch matches" if patch.vhost_match else "every virtual host"
            yield ctx.finding(
                RULE.code,
                Severity.WARNING,
                at(patch),
                f"ADD appends this route after the routes Istio generated for {hosts}. Envoy uses the first "
                f"route that matches, and those nearly always end with a catch-all (`prefix: /`), so this route "
                f"is reached only by requests nothing before it matches. Use INSERT_FIRST, or INSERT_BEFORE with "
                f"a `routeConfiguration.vhost.route` match, to put it ahead.",
                fixes=_insert_first(ctx, patch),
            )


def _insert_first(ctx: DocumentContext, patch: EnvoyPatch) -> list[Fix]:
    op = patch.operation
    if op is None:
        return []
    edit = TextEdit(ctx.uri, op.span, f"{op.quote}INSERT_FIRST{op.quote}")
    return [Fix("Use INSERT_FIRST (ahead of the generated routes)", (edit,), preferred=True, safe=False)]


RULE = Rule(
    code="envoyfilter-add-misused",
    severity=Severity.ERROR,
    summary="An EnvoyFilter ADDs to a route configuration (skipped) or a route (placed after the catch-all).",
    doc=DOC,
    local=check,
    kinds=("EnvoyFilter",),
    istio_codes=("IST0153",),
)
