"""weights-not-100: destination weights that do not add up to 100 (legal: they are relative shares)."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

from istio_lsp.checks.base import Rule
from istio_lsp.checks.local import DocumentContext, quote_of
from istio_lsp.checks.routes._shared import destinations, normalised, percent, routes
from istio_lsp.findings import Finding, Fix, Severity, TextEdit

DOC = """\
The destinations of a route (`http`, `tcp` or `tls`) have weights that do not add
up to 100, or some destinations have a weight and others do not.

Since Istio 1.13 weights are relative: a destination gets `weight / sum of weights`
of the traffic, so `80` and `10` split 88.9% / 11.1%, and the webhook accepts any
total above 0. A destination without `weight` counts as 0 when there are several
destinations: it gets **no** traffic. The message gives the effective split.

Checklist row (istio-validation-rules.md, §1 route destinations): "the weights do
not have to add up to 100" — so this is information, not an error. Before Istio
1.13 the webhook rejected such routes ("total destination weight != 100"); Kiali
no longer reports it. A route whose destinations all lack a weight is left to the
webhook rules (with several destinations it is rejected), and a single destination
to `single-weighted-destination`.

## Why it matters

Weights that look like percentages but are not are easy to misread: a canary at
`weight: 10` next to `weight: 80` gets 11.1%, not 10%. A destination added without
a weight next to weighted ones silently gets nothing.

## Wrong

```yaml
route:
- destination: {host: reviews, subset: v1}
  weight: 80
- destination: {host: reviews, subset: v2}
  weight: 10
```

## Right

```yaml
route:
- destination: {host: reviews, subset: v1}
  weight: 89
- destination: {host: reviews, subset: v2}
  weight: 11
```

## Fixes

- **Normalise weights to 100**: rescales the weights to sum exactly to 100, with
  largest-remainder rounding (each weight is rounded down, and the points left go to
  the largest remainders). When the rounding changes a share, the fix is offered but
  not applied automatically. Destinations without a weight keep getting 0%.
"""


def check(ctx: DocumentContext) -> Iterator[Finding]:
    for route in routes(ctx):
        dests = destinations(route.node)
        if dests is None or len(dests) < 2:
            continue
        weighted = [d for d in dests if d.weight is not None]
        total = sum(d.weight or 0 for d in weighted)
        if total == 0:
            continue  # no weights, or all 0: the webhook rejects this with several destinations
        unweighted = [d for d in dests if d.weight is None]
        if total == 100 and not unweighted:
            continue
        split = " / ".join(percent(Fraction(d.weight or 0, total)) for d in dests)
        names = ", ".join(d.label for d in dests)
        if total != 100:
            message = (
                f"Destination weights add up to {total}, not 100. Istio (1.13 and later) treats them as relative "
                f"shares, so the effective split is {split} ({names})."
            )
        else:
            message = f"Only some destinations have a weight: the effective split is {split} ({names})."
        if unweighted:
            missing = ", ".join(d.label for d in unweighted)
            has, gets = ("has", "gets") if len(unweighted) == 1 else ("have", "get")
            message += f" {missing} {has} no weight and {gets} 0% of the traffic."
        fixes = []
        # an entry repeated through a YAML alias cannot get two different weights: no fix then
        if total != 100 and len({id(d.node) for d in weighted}) == len(weighted):
            new = normalised([d.weight or 0 for d in weighted])
            exact = all(Fraction(n, 100) == Fraction(d.weight or 0, total) for n, d in zip(new, weighted, strict=True))
            edits = tuple(
                TextEdit(ctx.uri, ctx.node_span(node), f"{quote_of(node)}{n}{quote_of(node)}")
                for n, node in zip(new, (d.weight_node for d in weighted), strict=True)
                if node is not None
            )
            fixes.append(
                Fix(f"Normalise weights to 100 ({' / '.join(map(str, new))})", edits, preferred=True, safe=exact)
            )
        yield ctx.finding(RULE.code, RULE.severity, f"{route.path}.route", message, key=True, fixes=fixes)


RULE = Rule(
    code="weights-not-100",
    severity=Severity.INFORMATION,
    summary="A route's destination weights do not add up to 100; the message gives the effective split.",
    doc=DOC,
    local=check,
    kinds=("VirtualService",),
)
