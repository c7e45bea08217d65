"""gateway-route-skips-subsets: a gateway's route to a host whose mesh VirtualService splits it into subsets."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Fix, Related, Rule, Severity, TextEdit
from istio_lsp.checks.together import how_sure, together
from istio_lsp.index import FileSummary
from istio_lsp.model.hosts import host_candidates
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import Destination, VirtualService

DOC = """\
A VirtualService bound to a Gateway routes to a host without a `subset`, while another
VirtualService, for the sidecars (`mesh`), routes the same host to subsets (a canary
split, a pinned version).

## Why it matters

A VirtualService applies where it is bound. The gateway uses its own VirtualService,
which sends requests straight to the Service: they reach every version behind it. The
mesh VirtualService's subsets shape only the requests of other sidecars. A canary kept
at 5 % for internal callers receives its plain share of the Service's endpoints from
outside, and a version meant to be hidden is reachable.

## How sure it is

| the two VirtualServices are… | severity |
|---|---|
| in one file, or in one kustomize build | warning |
| only in one folder, or deployed separately | information |

## Wrong

```yaml
kind: VirtualService
metadata: {name: shop-ingress}
spec:
  hosts: [shop.example.com]
  gateways: [istio-system/public]
  http:
  - route:
    - destination: {host: reviews}
---
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
      weight: 95
    - destination: {host: reviews, subset: v2}
      weight: 5
```

## Right

Route the gateway to the subsets too (the same split), or bind the mesh VirtualService
to the gateway as well (`gateways: [mesh, istio-system/public]`) when its hosts allow.

## Fixes

Route to one of the subsets the mesh VirtualService uses.

Related: `istioctl analyze` IST0140 (IngressRouteRulesNotAffected).
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    index, domain = ctx.index, ctx.settings.cluster_domain
    for vs in summary.resources:
        if not isinstance(vs, VirtualService) or not _gateway_bound(vs):
            continue
        for dest in vs.destinations:
            if dest.role != "route" or dest.subset is not None or is_placeholder(dest.host.value):
                continue
            candidates = host_candidates(dest.host.value, vs.namespace, domain)
            splits = [
                (other, subsets)
                for other in index.virtual_services_declaring(candidates)
                if other is not vs and _mesh_bound(other) and (subsets := _subsets_to(other, candidates, domain))
            ]
            if not splits:
                continue
            evidence = [how for other, _ in splits if (how := together(index, vs, other)) is not None]
            severity, hedge = how_sure(RULE.severity, evidence)
            names = ", ".join(other.display for other, _ in splits)
            used = list(dict.fromkeys(s for _, subsets in splits for s in subsets))
            shown = ", ".join(f"`{s}`" for s in used)
            yield ctx.finding(
                RULE,
                vs,
                dest.host.span,
                f"This route of a gateway-bound VirtualService sends requests for `{dest.host.value}` straight to "
                f"the Service, so they reach every version: the subsets {names} routes it to ({shown}) apply to "
                f"requests from sidecars only. Route to a subset here too, or bind that VirtualService to this "
                f"gateway as well.{hedge}",
                severity=severity,
                related=[Related(o.uri, o.name_span, f"{o.display} routes it to {', '.join(s)}") for o, s in splits],
                fixes=_fixes(vs, dest, used),
            )


def _gateway_bound(vs: VirtualService) -> bool:
    return any(g.value.strip() != "mesh" for g in vs.gateways)


def _mesh_bound(vs: VirtualService) -> bool:
    return not vs.gateways or any(g.value.strip() == "mesh" for g in vs.gateways)


def _subsets_to(vs: VirtualService, candidates: list[str], domain: str) -> list[str]:
    """The subsets `vs` routes the host (one of `candidates`) to."""
    wanted = set(candidates)
    return list(
        dict.fromkeys(
            d.subset.value
            for d in vs.destinations
            if d.role == "route"
            and d.subset is not None
            and not is_placeholder(d.subset.value)
            and wanted & set(host_candidates(d.host.value, vs.namespace, domain))
        )
    )


def _fixes(vs: VirtualService, dest: Destination, subsets: list[str]) -> list[Fix]:
    if dest.key_column is None:
        return []  # flow style: no line of its own for the new key
    end = dest.host.span
    return [
        Fix(
            f"Route to subset `{name}`",
            (
                TextEdit(
                    vs.uri,
                    end._replace(start_line=end.end_line, start_char=end.end_char),
                    f"\n{' ' * dest.key_column}subset: {name}",
                ),
            ),
            preferred=False,
        )
        for name in subsets
    ]


RULE = Rule(
    code="gateway-route-skips-subsets",
    severity=Severity.WARNING,
    summary="A gateway's route to a host that a mesh VirtualService splits into subsets reaches every version",
    doc=DOC,
    run=run,
    istio_codes=("IST0140",),
)
