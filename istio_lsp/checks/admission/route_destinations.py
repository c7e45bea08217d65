"""invalid-route-destination: route destination lists (http, tls, tcp) that Istio rejects."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.admission._vs_routes import (
    REJECTED,
    destination_problems,
    gateway_semantics,
    lowercase_fix,
    spec_routes,
)
from istio_lsp.checks.admission.common import as_int, dns1123_label_problem
from istio_lsp.checks.base import Rule
from istio_lsp.checks.fields import absent, distinct, mapping_at, value_at
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding, Fix, Severity
from istio_lsp.syntax import MappingNode, Node
from istio_lsp.syntax.nodes import get, items, key_node, scalar

DOC = """\
An entry of a `route` list (in `http`, `tls` or `tcp` rules) that Istio's webhook
rejects.

Covers these rows of the webhook checklist (HTTP route, and "destinations are
checked as for HTTP" in TLS and TCP routes):

- a null entry in `route`;
- a destination `host` that is `*` or not a valid (wildcard) host name (IP
  addresses are not accepted either: route to a ServiceEntry host);
- a `subset` name that is not a DNS-1123 label;
- a negative `weight`;
- more than one destination, with weights that add up to 0.

Weights do **not** have to add up to 100 (since Istio 1.13 they are relative shares);
see `weights-not-100` for the style warning. Ports and per-destination header
operations are checked by `invalid-port` and `invalid-header`; an entry without
`destination` by `missing-required-field` (the API server's schema requires it, so it
rejects the resource before Istio's webhook sees it).

## Why it matters

The webhook rejects the whole VirtualService. With several destinations and a
total weight of 0 (for instance weights left out everywhere but meant to be set),
there would be no share to send any request to.

## Wrong

```yaml
route:
- destination: {host: reviews, subset: V1}
- destination: {host: reviews, subset: v2}
  weight: -10
```

## Right

```yaml
route:
- destination: {host: reviews, subset: v1}
  weight: 90
- destination: {host: reviews, subset: v2}
  weight: 10
```

## Fixes

- **Change to `v1`** for a subset name written with capitals.

Related: `istioctl analyze` IST0106 (schema validation error).
"""


def check(ctx: DocumentContext) -> Iterator[Finding]:
    check_hosts = not gateway_semantics(ctx)
    for kind in ("http", "tls", "tcp"):
        for _, rule in spec_routes(ctx, kind):
            route = get(rule, "route")
            entries = items(route)
            if entries:
                yield from _check_list(ctx, rule, entries, check_hosts)


def _check_list(ctx: DocumentContext, rule: MappingNode, entries: list[Node], check_hosts: bool) -> Iterator[Finding]:
    weights: dict[int, int | None] = {}  # by entry node: an alias repeats an entry, and its weight counts each time
    for entry in distinct(entries):
        weights[id(entry)] = 0
        if absent(entry):
            yield _error(ctx, entry, "A `route` entry is empty (null).")
            continue
        if not isinstance(entry, MappingNode):
            weights[id(entry)] = None
            continue
        # a missing `destination` is reported by missing-required-field: the API server rejects it first
        destination = mapping_at(entry, "destination")
        if destination is not None and check_hosts:
            for node, message in destination_problems(destination, "Destination"):
                yield ctx.finding(RULE.code, RULE.severity, node, message, fixes=_subset_fixes(ctx, destination, node))
        weight_node = value_at(entry, "weight")
        if weight_node is None:
            continue
        weight = weights[id(entry)] = as_int(scalar(weight_node))
        if weight is not None and weight < 0:
            yield _error(ctx, weight_node, f"`weight: {weight}` cannot be negative.")
    known = [weights[id(entry)] for entry in entries]
    if len(entries) > 1 and None not in known and sum(w or 0 for w in known) == 0:
        yield _error(
            ctx,
            key_node(rule, "route") or rule,
            f"The {len(entries)} destinations have a total weight of 0 (a missing weight counts as 0), so none "
            "would get any traffic; give at least one a positive weight.",
        )


def _subset_fixes(ctx: DocumentContext, destination: MappingNode, node: Node) -> list[Fix]:
    subset = scalar(node)
    if node is get(destination, "subset") and subset:
        return lowercase_fix(ctx, node, subset, dns1123_label_problem)
    return []


def _error(ctx: DocumentContext, where: Node, message: str) -> Finding:
    return ctx.finding(RULE.code, RULE.severity, where, f"{message} {REJECTED}.")


RULE = Rule(
    code="invalid-route-destination",
    severity=Severity.ERROR,
    summary="A route destination Istio rejects: a null entry, host `*` or invalid, a bad subset name, a negative "
    "weight, or several destinations with total weight 0.",
    doc=DOC,
    local=check,
    kinds=("VirtualService",),
    istio_codes=("IST0106",),
)
