"""duplicate-destination: the same host, subset and port twice in one route."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

from istio_lsp.checks.base import Rule
from istio_lsp.checks.local import DocumentContext
from istio_lsp.checks.routes._shared import Destination, destinations, percent, routes
from istio_lsp.findings import Finding, Related, Severity
from istio_lsp.model.hosts import host_candidates

DOC = """\
One route (`http`, `tcp` or `tls`) lists the same destination twice: the same host,
the same `subset` (or none) and the same `port` (or none).

Hosts are compared as Istio reads them: a short name means the Service in the
VirtualService's namespace, so `reviews` and `reviews.<namespace>.svc.cluster.local`
are the same destination. Hosts written differently that Istio reads differently
(`reviews.other`, `reviews`) are not.

Kiali reports this as KIA1105. Not a webhook rule.

## Why it matters

Both entries send their share of the traffic to the same backend, so the split is
not what it looks like: with `v1: 50`, `v1: 25`, `v2: 25`, `v1` gets 75%. Most of the
time the second entry was copied and its subset or host not changed: the backend it
was meant for gets nothing.

## Wrong

```yaml
route:
- destination: {host: reviews, subset: v1}
  weight: 50
- destination: {host: reviews, subset: v1}   # meant v2
  weight: 50
```

## Right

```yaml
route:
- destination: {host: reviews, subset: v1}
  weight: 50
- destination: {host: reviews, subset: v2}
  weight: 50
```

## Fixes

Change the host or subset of one entry, or merge the two into one destination with
the summed weight.
"""


def check(ctx: DocumentContext) -> Iterator[Finding]:
    namespace, domain = ctx.resource.namespace, ctx.settings.cluster_domain
    for route in routes(ctx):
        dests = destinations(route.node)
        if dests is None:
            continue
        total = sum(d.weight or 0 for d in dests)
        first: dict[tuple[str, str | None, int | None], Destination] = {}
        reported: set[int] = set()
        for dest in dests:
            if not dest.host or id(dest.node) in reported:
                continue  # an entry repeated through a YAML alias is reported once: the repeats share its text
            key = (host_candidates(dest.host, namespace, domain)[0], dest.subset, dest.port)
            twin = first.setdefault(key, dest)
            if twin is dest:
                continue
            reported.add(id(dest.node))
            share = ""
            if len(dests) > 1 and total > 0 and twin.weight is not None and dest.weight is not None:
                together = Fraction(twin.weight + dest.weight, total)
                share = f" (together {percent(together)} of the traffic)"
            yield ctx.finding(
                RULE.code,
                RULE.severity,
                f"{route.path}.route[{dest.index}].destination",
                f"{dest.label} is already destination #{twin.index} of {route.label}: both entries send their "
                f"share to the same backend{share}. If this entry was meant for another subset or host, correct "
                "it; otherwise merge the two.",
                related=[Related(ctx.uri, ctx.span(f"{route.path}.route[{twin.index}].destination"), "first entry")],
            )


RULE = Rule(
    code="duplicate-destination",
    severity=Severity.WARNING,
    summary="A route lists the same host, subset and port twice.",
    doc=DOC,
    local=check,
    kinds=("VirtualService",),
    kiali_codes=("KIA1105",),
)
