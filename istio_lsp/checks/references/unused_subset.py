"""unused-subset: a DestinationRule subset that no VirtualService of the workspace routes or mirrors to."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from istio_lsp.checks.base import Context, Finding, Fix, Rule, Severity, TextEdit, related_to
from istio_lsp.index import FileSummary, WorkspaceIndex
from istio_lsp.index.patches import may_be_patched
from istio_lsp.index.resolve import nearest, selected_workloads, services_for_rule, subset_selects
from istio_lsp.model.hosts import cluster_namespace, host_candidates, namespaces_match
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import Destination, DestinationRule, Subset, VirtualService
from istio_lsp.syntax import Span

DOC = """\
A DestinationRule defines a subset that none of the workspace's VirtualServices
routes or mirrors to, while VirtualServices that send traffic to the rule's host are
in the workspace.

## Why it matters

Istio turns every subset into an Envoy cluster of its own, per port, in every
sidecar and gateway the rule is exported to, whether or not a route uses it. A
subset no route names receives no request: it is dead configuration that costs
memory and configuration pushes, and it misleads the next reader into thinking a
version is still live. It is typically what a finished canary leaves behind: the
routes moved to `v2` and `v1` stayed in the rule. Istio's maintainers point at
unreferenced subsets as a source of clusters nobody needs
(<https://github.com/istio/istio/issues/45979>), and release tooling has to clean
them up for the same reason (<https://github.com/pismo-foss/istiops/issues/14>).

## How sure it is

Information, and only with evidence that the workspace holds the routing for the
host:

| situation | reported |
|---|---|
| VirtualServices of the workspace route or mirror to the host, none to this subset | yes |
| no VirtualService of the workspace sends traffic to the host (it may be routed from elsewhere) | no |
| a route names the host's subset through a placeholder (`${SUBSET}`), or names a placeholder host with a subset | no |
| a route names a subset no DestinationRule for the host defines (a typo, a renamed version: `subset-not-found`) | no |
| the subset selects none of the workspace's pods behind the host (`subset-matches-no-workload` reports it) | no |
| a kustomize patch or replacement may change a VirtualService for the host, or the rule | no |
| a wildcard host, or a host or subset name that is a placeholder | no |
| the file is deployed by several builds and one of them routes to the subset | no |

When namespaces cannot tell which VirtualServices are meant (files without a
namespace), only those nearest to the rule in the folder tree count, as for the
other reference checks.

## Wrong

```yaml
kind: DestinationRule
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}   # nothing routes here any more
  - {name: v2, labels: {version: v2}}
---
kind: VirtualService
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v2}
```

## Right

Remove `v1` from the rule, or route some traffic to it again.

## Fixes

**Remove subset `<name>`**: deletes the subset's lines from a block-style
`subsets` list. Not applied automatically.

No `istioctl analyze` or Kiali counterpart (Kiali's KIA0203 and istioctl's IST0173
report a subset that selects no pods, not one that no route uses).
"""


@dataclass
class Routing:
    """What the VirtualServices of the workspace do with one host."""

    virtual_services: list[VirtualService] = field(default_factory=list)
    subsets: dict[str, list[VirtualService]] = field(default_factory=dict)  # subset → who names it
    plain: list[VirtualService] = field(default_factory=list)  # route to the host without a subset
    unknown: bool = False  # some use of the host's subsets cannot be read


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for rule in summary.resources:
        if not isinstance(rule, DestinationRule) or not rule.subsets or rule.host is None:
            continue
        host = rule.host.value.strip()
        if not host or "*" in host or is_placeholder(host) or may_be_patched(ctx.index, rule, "subset"):
            continue
        routing = _routing_in_every_build(ctx.index, rule)
        if routing.unknown or not routing.virtual_services or _names_undefined(ctx.index, rule, routing):
            continue
        workloads = [w for s in services_for_rule(ctx.index, rule) for w in selected_workloads(ctx.index, s)]
        for subset in rule.subsets:
            name = subset.name.value
            if not name or is_placeholder(name) or name in routing.subsets:
                continue
            if workloads and not any(subset_selects(subset.labels, w) for w in workloads):
                continue  # it selects no pod either: subset-matches-no-workload says so
            yield _finding(ctx, summary, rule, subset, routing)


def _names_undefined(index: WorkspaceIndex, rule: DestinationRule, routing: Routing) -> bool:
    """Whether a route names a subset that no DestinationRule for the host defines (`subset-not-found`
    reports it): an unused subset may be the one it means (`V1` for `v1`, a renamed version)."""
    assert rule.host is not None
    candidates = host_candidates(rule.host.value, rule.namespace, index.settings.cluster_domain)
    defined = {s.name.value for r in [rule, *index.destination_rules_for(candidates)] for s in r.subsets}
    return any(name not in defined for name in routing.subsets)


def _routing_in_every_build(index: WorkspaceIndex, rule: DestinationRule) -> Routing:
    """The routing of the rule's host where its file is deployed: a subset counts as used when some build of
    the file has a route to it (the other builds' findings would only contradict one another)."""
    routings = [_routing_of(index, twin) for twin in _twins(index, rule)]
    if any(r.unknown for r in routings):
        return Routing(unknown=True)
    merged = Routing()
    for routing in routings:
        merged.virtual_services += [v for v in routing.virtual_services if v not in merged.virtual_services]
        for name, users in routing.subsets.items():
            merged.subsets.setdefault(name, []).extend(users)
        merged.plain += routing.plain
    return merged


def _twins(index: WorkspaceIndex, rule: DestinationRule) -> list[DestinationRule]:
    """The rule as each build of its file places it (the rule itself when one build or none deploys it)."""
    twins = [
        r
        for variant in index.variants(rule.uri)
        for r in variant.resources
        if isinstance(r, DestinationRule) and r.name_span == rule.name_span and r.doc_index == rule.doc_index
    ]
    return twins or [rule]


def _routing_of(index: WorkspaceIndex, rule: DestinationRule) -> Routing:
    """The VirtualServices of the workspace that route or mirror to a DestinationRule's host, and the subsets
    they name."""
    assert rule.host is not None
    domain = index.settings.cluster_domain
    candidates = host_candidates(rule.host.value, rule.namespace, domain)
    wanted = [_host_key(c, domain) for c in candidates]
    found: dict[int, tuple[VirtualService, Destination]] = {}
    for vs in index.virtual_services_routing_to(candidates):
        for dest in vs.destinations:
            if not is_placeholder(dest.host.value) and _same_host(dest, vs, wanted, domain):
                found[id(dest)] = (vs, dest)
    routing = Routing()
    users = nearest(index, list({id(vs): vs for vs, _ in found.values()}.values()), rule)
    routing.virtual_services = users
    if any(may_be_patched(index, vs, "subset") for vs in users):
        routing.unknown = True
    for vs, dest in found.values():
        if not any(vs is u for u in users):
            continue
        subset = dest.subset.value.strip() if dest.subset is not None else ""
        if is_placeholder(subset):
            routing.unknown = True
        elif subset:
            routing.subsets.setdefault(subset, []).append(vs)
        else:
            routing.plain.append(vs)
    host_namespace = cluster_namespace(candidates[0], domain)
    for vs in index.virtual_services_routing_to(["?"]):
        named = any(is_placeholder(d.host.value) and d.subset is not None for d in vs.destinations)
        if named and (host_namespace is None or namespaces_match(vs.namespace, host_namespace)):
            routing.unknown = True  # a route to a host we cannot read may name this rule's subsets
    return routing


def _host_key(fqdn: str, domain: str) -> tuple[str, str | None]:
    """A host without its namespace (`reviews.svc`), and the namespace; a host outside the cluster as it is."""
    namespace = cluster_namespace(fqdn, domain)
    if namespace is None:
        return fqdn, None
    return f"{fqdn.partition('.')[0]}.svc", namespace


def _same_host(dest: Destination, vs: VirtualService, wanted: list[tuple[str, str | None]], domain: str) -> bool:
    """Whether a destination may name the host whose readings are `wanted` (namespaces not known match any)."""
    for candidate in host_candidates(dest.host.value, vs.namespace, domain):
        key, namespace = _host_key(candidate, domain)
        for wanted_key, wanted_namespace in wanted:
            if key == wanted_key and (
                namespace is None or wanted_namespace is None or namespaces_match(namespace, wanted_namespace)
            ):
                return True
    return False


# ---- the finding -------------------------------------------------------------------


def _finding(ctx: Context, summary: FileSummary, rule: DestinationRule, subset: Subset, routing: Routing) -> Finding:
    assert rule.host is not None
    uses = []
    for vs in routing.virtual_services[:3]:
        named = sorted(name for name, users in routing.subsets.items() if any(vs is u for u in users))
        plain = any(vs is u for u in routing.plain)
        what = ", ".join(f"`{n}`" for n in named) if named else ""
        if plain:
            what = f"{what} and the host itself" if what else "the host itself, without a subset"
        uses.append(f"{vs.display} sends to {what}")
    more = len(routing.virtual_services) - 3
    listing = "; ".join(uses) + (f"; and {more} more" if more > 0 else "")
    message = (
        f"No VirtualService in the workspace routes or mirrors to subset `{subset.name.value}` of "
        f"`{rule.host.value}` ({listing}). Istio still builds an Envoy cluster for it in every proxy the rule "
        f"reaches, but no request goes there: dead configuration, often left from a finished rollout. Remove "
        f"the subset, or route to it."
    )
    fixes = [fix] if (fix := _removal(rule, subset, summary)) is not None else []
    return ctx.finding(
        RULE,
        rule,
        subset.name.span,
        message,
        related=[related_to(vs, "routes to the host") for vs in routing.virtual_services[:10]],
        fixes=fixes,
    )


def _removal(rule: DestinationRule, subset: Subset, summary: FileSummary) -> Fix | None:
    """Delete a block-style subset item's lines (from its `-` to the end of its last line)."""
    indent = rule.subset_indent
    if indent is None or subset.span.start_char <= indent or subset.name.span.start_line != subset.span.start_line:
        return None
    first, last = subset.span.start_line, subset.span.end_line + 1
    end_line, end_char = summary.end
    end = Span(last, 0, last, 0) if last <= end_line else Span(end_line, end_char, end_line, end_char)
    span = Span(first, 0, end.start_line, end.start_char)
    return Fix(f"Remove subset `{subset.name.value}`", (TextEdit(rule.uri, span, ""),), preferred=True, safe=False)


RULE = Rule(
    code="unused-subset",
    severity=Severity.INFORMATION,
    summary="A DestinationRule subset that no VirtualService of the workspace routes or mirrors to.",
    doc=DOC,
    run=run,
)
