"""route-rule-unreachable: an HTTPRoute or GRPCRoute rule whose every match an earlier rule of the route already has."""

from __future__ import annotations

import json
from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity
from istio_lsp.checks.gateway_api._attach import routes_of
from istio_lsp.index import FileSummary
from istio_lsp.model.resources import KubernetesRoute

DOC = """\
A rule of an HTTPRoute (or GRPCRoute) has only matches that an earlier rule of the same
route has too, exactly: the same path (type and value), method, headers and query
parameters. A rule without `matches` matches every request (`PathPrefix /` for an
HTTPRoute).

## Why it matters

Gateway API does not try rules in the order written: among all the routes of a listener,
the most specific match wins (an exact path before a prefix, a longer prefix first, then
the method, then the number of headers and query parameters). Only between equal matches
does the order decide: the oldest route, then the first rule in the route. So a rule
whose matches all repeat an earlier rule's never receives a request. Matches that are
merely covered by broader ones are not reported: a more specific match wins wherever it
is written.

## Wrong

```yaml
  rules:
  - matches: [{path: {type: PathPrefix, value: /api}}]
    backendRefs: [{name: api-v1, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /api}}]      # never used
    backendRefs: [{name: api-v2, port: 80}]
```

## Right

Merge the rules (weighted backendRefs split traffic), or make the later one more specific.

Related: `istioctl analyze` IST0131 VirtualServiceUnreachableRule for VirtualServices
(`unreachable-route` here); no status condition: Istio accepts the route.
"""

_DEFAULT_PATH = {"type": "PathPrefix", "value": "/"}


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for route in routes_of(summary.resources):
        if route.kind not in ("HTTPRoute", "GRPCRoute"):
            continue
        seen: dict[str, int] = {}
        for rule in route.rules:
            keys = _keys(route, rule.matches)
            if keys is None:
                continue
            earlier = [seen[k] for k in keys if k in seen]
            if keys and len(earlier) == len(keys):
                first = min(earlier)
                what = "Its matches repeat" if rule.matches else "Without matches it matches every request, as does"
                message = (
                    f"{what} rule {first + 1} of this {route.kind} exactly: an equal match goes to the first rule, "
                    f"so this rule never receives a request."
                )
                yield ctx.finding(RULE, route, rule.match_spans[0] if rule.match_spans else rule.span, message)
            for k in keys:
                seen.setdefault(k, rule.index)


def _keys(route: KubernetesRoute, matches: list[str] | None) -> list[str] | None:
    """Each match in a normal form (defaults filled in), None when a match cannot be compared."""
    if matches is None:
        return None
    if not matches:
        matches = ["{}"]
    out = []
    for text in matches:
        match = json.loads(text)
        if not isinstance(match, dict):
            return None
        if route.kind == "HTTPRoute":
            path = match.get("path")
            if path is None:
                match["path"] = dict(_DEFAULT_PATH)
            elif isinstance(path, dict):
                path.setdefault("type", "PathPrefix")
        for key in ("headers", "queryParams"):
            items = match.get(key)
            if isinstance(items, list):
                for item in items:
                    if isinstance(item, dict):
                        item.setdefault("type", "Exact")
                match[key] = sorted(items, key=lambda i: json.dumps(i, sort_keys=True))
        method = match.get("method")
        if route.kind == "GRPCRoute" and isinstance(method, dict):
            method.setdefault("type", "Exact")
        out.append(json.dumps(match, sort_keys=True))
    return out


RULE = Rule(
    code="route-rule-unreachable",
    severity=Severity.WARNING,
    summary="An HTTPRoute or GRPCRoute rule whose matches all repeat an earlier rule's: it never receives a request.",
    doc=DOC,
    run=run,
)
