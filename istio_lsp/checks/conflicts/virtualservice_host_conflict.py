"""virtualservice-host-conflict: VirtualServices bound to the mesh that declare one host for the same namespaces."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Related, Rule, Severity
from istio_lsp.checks.together import how_sure, same_object, together
from istio_lsp.index import FileSummary
from istio_lsp.model.hosts import host_candidates
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import Ref, VirtualService

DOC = """\
Two or more VirtualServices that apply to sidecars (bound to the `mesh` gateway,
which is what no `gateways` at all means) declare the same host, and some
namespace sees both of them.

## Why it matters

A sidecar builds one virtual host per host name. When several VirtualServices it
sees declare the same name, it takes that host from the oldest one and drops the
others for it (istiod counts them as duplicate domains): their routes, retries and
fault injection never apply, and which VirtualService wins depends on the order the
resources were created, so it can change after a re-install. Only gateways merge
VirtualServices of one host; sidecars do not.

Hosts are compared the way Istio reads them: a short name means the service of the
VirtualService's namespace (`reviews` in `shop` is `reviews.shop.svc.cluster.local`),
other names are taken as written, lowercased. Each VirtualService counts in the
namespaces its `exportTo` names (every namespace when it has none or `*`; `.` is its
own). Two wildcard hosts of different depth (`*.example.com`, `*.shop.example.com`)
do not collide: each service goes to the most specific one. VirtualServices bound
only to gateways, and delegates (no `hosts`), are not compared.

## How sure it is

A repository often keeps alternative versions of a VirtualService side by side
(tutorial steps, samples). Two VirtualServices are compared only when they are
certainly applied together and certainly meet:

| situation | severity |
|---|---|
| same file, or the same kustomize build deploys both, and their namespaces say they meet | error |
| the same folder, neither built by kustomize (a folder may hold alternatives) | information |
| the same kind and name in a namespace that may be the same (one object, applied twice) | not reported |
| different folders no build joins, or builds (overlays) of their own | not reported |
| one namespace known and the other not, when that decides whether they meet | not reported |
| a host, `gateways` or `exportTo` entry that is a placeholder (`$(VAR)`, `{{ }}`) | not reported |

## Wrong

```yaml
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
---
kind: VirtualService
metadata: {name: reviews-canary, namespace: shop}
spec:
  hosts: [reviews.shop.svc.cluster.local]   # the same host
  http:
  - match: [{headers: {end-user: {exact: jason}}}]
    route:
    - destination: {host: reviews, subset: v2}
```

## Right

One VirtualService per host for the mesh, its rules in order:

```yaml
spec:
  hosts: [reviews]
  http:
  - match: [{headers: {end-user: {exact: jason}}}]
    route:
    - destination: {host: reviews, subset: v2}
  - route:
    - destination: {host: reviews, subset: v1}
```

## Fixes

None: which routes should win is for you to decide. Merge the VirtualServices, narrow
one's `exportTo`, or bind one only to a gateway.

There is one finding per VirtualService, on its first host that collides, naming
every colliding host and VirtualService, like `istioctl analyze`.

Related: `istioctl analyze` IST0109 ConflictingMeshGatewayVirtualServiceHosts; Kiali
KIA1106 (which also compares VirtualServices bound to one ingress gateway: gateways
merge those, so they are not reported here).
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    index = ctx.index
    domain = index.settings.cluster_domain
    for vs in summary.resources:
        if not isinstance(vs, VirtualService) or not _bound_to_mesh(vs) or not _scope_known(vs):
            continue
        clashes: list[tuple[Ref, VirtualService, Ref, str]] = []
        for ref in vs.hosts:
            key = _key(ref, vs.namespace, domain)
            if key is None:
                continue
            for other in index.virtual_services_declaring([key]):
                if same_object(vs, other) or not _bound_to_mesh(other) or not _scope_known(other):
                    continue
                theirs = next((r for r in other.hosts if _key(r, other.namespace, domain) == key), None)
                if theirs is None or not _scopes_meet(vs, other):
                    continue
                how = together(index, vs, other)
                if how is not None:
                    clashes.append((ref, other, theirs, how))
        if clashes:
            yield _finding(ctx, vs, clashes)


def _finding(ctx: Context, vs: VirtualService, clashes: list[tuple[Ref, VirtualService, Ref, str]]) -> Finding:
    severity, hedge = how_sure(RULE.severity, (how for *_, how in clashes))
    by_host: dict[str, list[str]] = {}
    for ref, other, _, _ in clashes:
        names = by_host.setdefault(ref.value, [])
        if other.display not in names:
            names.append(other.display)
    listed = "; ".join(f"`{host}` also in {', '.join(names)}" for host, names in by_host.items())
    message = (
        f"Another VirtualService bound to the mesh declares the same host for the same namespaces ({listed}). "
        f"A sidecar takes each host from one VirtualService only, the oldest, and ignores the others' routes for "
        f"it: which routes apply depends on the order they were created. Merge them into one VirtualService." + hedge
    )
    related = [
        Related(other.uri, theirs.span, f"{other.display} declares `{theirs.value}`") for _, other, theirs, _ in clashes
    ]
    return ctx.finding(RULE, vs, clashes[0][0].span, message, severity=severity, related=related)


def _key(ref: Ref, namespace: str, domain: str) -> str | None:
    """The host as Istio reads it for the mesh, or None when it is not one to compare."""
    host = ref.value.strip().lower()
    if not host or host == "*" or is_placeholder(host):
        return None  # `*` is rejected for the mesh: admission reports it
    return host_candidates(host, namespace, domain)[0]


def _bound_to_mesh(vs: VirtualService) -> bool:
    """Whether `spec.gateways` is empty or names `mesh` (route-level `match[].gateways` do not bind)."""
    declared = [ref.value.strip() for ref in vs.gateways[: vs.spec_gateway_count]]
    return not declared or "mesh" in declared


def _scope_known(vs: VirtualService) -> bool:
    return not any(is_placeholder(e) for e in vs.export_to) and not any(
        is_placeholder(ref.value) for ref in vs.gateways[: vs.spec_gateway_count]
    )


def _scope(vs: VirtualService) -> set[str] | None:
    """The namespaces that see a VirtualService (None: all). `.` is its own namespace, which is
    ANY_NAMESPACE when not known."""
    entries = [e.strip() for e in vs.export_to if e.strip()]
    if not entries or "*" in entries:
        return None
    return {vs.namespace if e == "." else e for e in entries if e != "~"}


def _scopes_meet(a: VirtualService, b: VirtualService) -> bool:
    """Whether some namespace certainly sees both. Two VirtualServices exported to their own
    namespace, neither knowing it, meet: they are applied together, to one namespace."""
    scope_a, scope_b = _scope(a), _scope(b)
    if scope_a is None:
        return scope_b is None or bool(scope_b)
    if scope_b is None:
        return bool(scope_a)
    return bool(scope_a & scope_b)  # ANY_NAMESPACE in both: each is exported to its own, unknown namespace


RULE = Rule(
    code="virtualservice-host-conflict",
    severity=Severity.ERROR,
    summary="VirtualServices bound to the mesh that declare the same host for the same namespaces.",
    doc=DOC,
    run=run,
    istio_codes=("IST0109",),
    kiali_codes=("KIA1106",),
)
