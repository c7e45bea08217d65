"""conflicting-route-actions and missing-route-action: what one HTTP route rule does with a request."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.admission._vs_routes import REJECTED, is_delegate, key_or_value, spec_routes
from istio_lsp.checks.base import Rule
from istio_lsp.checks.fields import items_at, mapping_at
from istio_lsp.checks.local import DocumentContext, name_or_first_key
from istio_lsp.findings import Finding, Severity
from istio_lsp.syntax import MappingNode, Node
from istio_lsp.syntax.nodes import key_node

CONFLICT_DOC = """\
One HTTP route rule combines actions that exclude each other.

Covers these rows of Istio's webhook checklist (HTTP route):

- a rule with `delegate` (a root rule) sets `redirect` or `route` as well;
- `redirect` together with `route`, `fault`, `rewrite` or `directResponse`;
- `directResponse` together with `route`, `fault` or `rewrite`;
- `mirror` together with `mirrors`.

## Why it matters

A rule does exactly one thing with a matching request: forward it (`route`), answer
with a redirect (`redirect`), answer itself (`directResponse`) or hand the decision to
a delegate VirtualService (`delegate`). Fault injection and rewrites only make sense
for forwarded requests, and the single `mirror` field and the `mirrors` list are two
spellings of the same feature. Istio's validating webhook rejects such a rule, so
`kubectl apply` fails and the previous version of the VirtualService stays in force.

## Wrong

```yaml
http:
- match:
  - uri: {prefix: /old}
  redirect:
    uri: /new
  rewrite:            # a redirect is answered by the proxy: nothing to rewrite
    uri: /v2
```

## Right

```yaml
http:
- match:
  - uri: {prefix: /old}
  redirect:
    uri: /new
```

## Fixes

Decide what the rule should do and delete the other action (or split it into two
rules with different matches). The tool offers no automatic fix: either half may be
the one you meant.

Related: `istioctl analyze` IST0106 (schema validation error).
"""

MISSING_DOC = """\
An HTTP route rule has none of `route`, `redirect` or `directResponse` (and does not
delegate).

Covers the checklist row "None of `route`, `redirect` or `directResponse` is set"
(HTTP route), including an explicitly empty `route: []`.

## Why it matters

A rule must say what happens to the requests it matches. Istio's webhook rejects a
rule without an action ("HTTP route, redirect or direct_response is required"), so the
whole VirtualService fails to apply. A frequent cause is writing a `fault`, `timeout`,
`retries` or `rewrite` as a rule of its own: these only modify a rule that forwards
traffic.

## Wrong

```yaml
http:
- fault:
    delay:
      fixedDelay: 5s
      percentage: {value: 10}
- route:
  - destination: {host: ratings}
```

## Right

```yaml
http:
- fault:
    delay:
      fixedDelay: 5s
      percentage: {value: 10}
  route:
  - destination: {host: ratings}
```

## Fixes

Add the `route` (or `redirect`/`directResponse`) to the rule, or merge the rule into
the one it was meant to modify.

Related: `istioctl analyze` IST0106 (schema validation error).
"""


def _conflicts(ctx: DocumentContext) -> Iterator[Finding]:
    delegate_vs = is_delegate(ctx)
    for _, rule in spec_routes(ctx, "http"):
        yield from _rule_conflicts(ctx, rule, delegate_vs)


def _rule_conflicts(ctx: DocumentContext, rule: MappingNode, delegate_vs: bool) -> Iterator[Finding]:
    has = {
        key: mapping_at(rule, key) is not None for key in ("redirect", "directResponse", "fault", "rewrite", "mirror")
    }
    routes = len(items_at(rule, "route"))

    def report(key: str, message: str) -> Finding:
        return ctx.finding(CONFLICT.code, CONFLICT.severity, key_or_value(rule, key), f"{message} {REJECTED}.")

    if mapping_at(rule, "delegate") is not None and not delegate_vs:
        # a root rule: Istio checks only that it neither redirects nor routes itself
        if has["redirect"]:
            yield report(
                "redirect",
                "A rule that hands requests to a delegate VirtualService (`delegate`) cannot also `redirect` them.",
            )
        if routes:
            yield report(
                "route",
                "A rule that hands requests to a delegate VirtualService (`delegate`) cannot also `route` them.",
            )
        return
    if has["redirect"]:
        if routes:
            yield report(
                "redirect", "This rule both forwards (`route`) and redirects (`redirect`) requests; choose one."
            )
        for key in ("fault", "rewrite"):
            if has[key]:
                yield report(
                    key, f"`{key}` cannot be combined with `redirect`: a redirect is answered without forwarding."
                )
        if has["directResponse"]:
            yield report("directResponse", "`directResponse` and `redirect` are two different answers; choose one.")
    elif has["directResponse"]:
        if routes:
            yield report(
                "directResponse", "This rule both forwards (`route`) and answers itself (`directResponse`); choose one."
            )
        for key in ("fault", "rewrite"):
            if has[key]:
                yield report(
                    key,
                    f"`{key}` cannot be combined with `directResponse`: the proxy answers without forwarding.",
                )
    if has["mirror"] and items_at(rule, "mirrors"):
        yield report("mirror", "`mirror` and `mirrors` cannot both be set; list every mirror under `mirrors`.")


def _missing(ctx: DocumentContext) -> Iterator[Finding]:
    delegate_vs = is_delegate(ctx)
    for _, rule in spec_routes(ctx, "http"):
        if mapping_at(rule, "delegate") is not None and not delegate_vs:
            continue  # a root rule's action is its delegate
        if mapping_at(rule, "redirect") is not None or mapping_at(rule, "directResponse") is not None:
            continue
        if items_at(rule, "route"):
            continue
        route_key = key_node(rule, "route")
        where: Node
        if route_key is not None:
            where = route_key
            message = "`route` is empty and the rule has no `redirect` or `directResponse`"
        else:
            where = name_or_first_key(rule)
            message = "This HTTP rule has no `route`, `redirect` or `directResponse`"
        modifiers = [k for k in ("fault", "rewrite", "retries", "timeout", "headers", "mirror") if key_node(rule, k)]
        hint = (
            f"; `{modifiers[0]}` only modifies a rule that forwards traffic, so add the `route` here"
            if modifiers
            else ""
        )
        yield ctx.finding(
            MISSING.code, MISSING.severity, where, f"{message}{hint}. {REJECTED} (an action is required)."
        )


CONFLICT = Rule(
    code="conflicting-route-actions",
    severity=Severity.ERROR,
    summary="An HTTP route rule combines actions that exclude each other (route, redirect, directResponse, delegate, "
    "fault, rewrite, mirror/mirrors).",
    doc=CONFLICT_DOC,
    local=_conflicts,
    kinds=("VirtualService",),
    istio_codes=("IST0106",),
)

MISSING = Rule(
    code="missing-route-action",
    severity=Severity.ERROR,
    summary="An HTTP route rule has no route, redirect or directResponse.",
    doc=MISSING_DOC,
    local=_missing,
    kinds=("VirtualService",),
    istio_codes=("IST0106",),
)

RULES = (CONFLICT, MISSING)
