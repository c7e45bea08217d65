"""subset-without-destinationrule: a destination names a subset and no DestinationRule exists for its host."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Fix, Rule, Severity, TextEdit, related_to
from istio_lsp.index import FileSummary
from istio_lsp.index.resolve import destination_rules_for_route, labels_for_subset, resolve_host
from istio_lsp.model.hosts import host_candidates
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import Destination, VirtualService
from istio_lsp.syntax import Span

DOC = """\
A route or mirror destination names a `subset`, but no DestinationRule for that
host is visible to the route, so the subset is defined nowhere.

## Why it matters

Subsets exist only in DestinationRules. Without one, Envoy has no cluster for
`outbound|port|subset|host`, and requests on that route fail with 503
(`cluster_not_found`, response flag NC). Common causes: the DestinationRule was
never applied, its `host` is a short name resolved in another namespace (a
DestinationRule in `istio-system` with `host: reviews` means
`reviews.istio-system.svc.cluster.local`), or its `exportTo` hides it from the
route's namespace.

When the host itself is not provided in the workspace either, the
DestinationRule may live with it in another repository, and the finding is a
warning instead of an error.

## Wrong

```yaml
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
```

## Right

```yaml
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  subsets:
  - name: v1
    labels: {version: v1}
```

## Fixes

**Create a DestinationRule for `<host>`**: appends a DestinationRule to this
file with every subset the VirtualService uses for the host. Labels come from
the workloads behind the Service when a label (such as `version`) carries the
subset's name; otherwise a `version: <subset>` placeholder with a TODO comment.

Related: `istioctl analyze` IST0101 ReferencedResourceNotFound; Kiali KIA1107.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for vs in summary.resources:
        if not isinstance(vs, VirtualService):
            continue
        for dest in vs.destinations:
            if dest.subset is None or is_placeholder(dest.subset.value):
                continue
            resolution = resolve_host(ctx.index, dest.host.value, vs)
            if resolution.unknown:
                continue
            lookup = destination_rules_for_route(ctx.index, resolution.candidates, resolution.consumers)
            if lookup.visible:
                continue
            message = (
                f"Subset `{dest.subset.value}` needs a DestinationRule for `{dest.host.value}`, and none "
                f"is visible here; Envoy has no such subset and answers 503."
            )
            related = []
            if lookup.hidden:
                names = ", ".join(r.display for r in lookup.hidden)
                # the namespaces whose proxies use the route (the VirtualService's exportTo), not where it is written
                consumers = ", ".join(f"`{ns}`" for ns in resolution.consumers)
                message += f" {names} exists but is not exported to {consumers}."
                related = [related_to(r, "not exported to the route's namespace") for r in lookup.hidden]
            severity = None
            if not (resolution.provided or resolution.declaring or lookup.hidden):
                severity = Severity.WARNING
                message += " The host is not in the workspace either; both may be defined elsewhere."
            fix = _create_rule_fix(ctx, summary, vs, dest)
            yield ctx.finding(
                RULE, vs, dest.subset.span, message, severity=severity, related=related, fixes=[fix] if fix else []
            )


def _create_rule_fix(ctx: Context, summary: FileSummary, vs: VirtualService, dest: Destination) -> Fix | None:
    """The fix for every subset of the host the VirtualService uses: built once per host (a VirtualService
    with thousands of routes to one host has as many findings)."""
    domain = ctx.settings.cluster_domain
    wanted = set(host_candidates(dest.host.value, vs.namespace, domain))
    key = ("create-destinationrule", vs.uri, vs.doc_index, frozenset(wanted), dest.host.value, domain)
    if key not in ctx.index.memo:
        ctx.index.memo[key] = _build_rule_fix(ctx, summary, vs, dest, wanted)
    fix: Fix | None = ctx.index.memo[key]
    return fix


def _build_rule_fix(
    ctx: Context, summary: FileSummary, vs: VirtualService, dest: Destination, wanted: set[str]
) -> Fix | None:
    domain = ctx.settings.cluster_domain
    subsets: list[str] = []
    for other in vs.destinations:
        if (
            other.subset is not None
            and other.subset.value not in subsets
            and wanted & set(host_candidates(other.host.value, vs.namespace, domain))
        ):
            subsets.append(other.subset.value)
    services = ctx.index.services_for(sorted(wanted))
    base = dest.host.value.split(".")[0]
    taken = {r.name for r in ctx.index.of_kind(vs.namespace, "DestinationRule") if r.namespace == vs.namespace}
    name = base if base not in taken else f"{base}-subsets"
    group = vs.api_version if vs.api_version.startswith("networking.istio.io/") else "networking.istio.io/v1"
    lines = ["---", f"apiVersion: {group}", "kind: DestinationRule", "metadata:", f"  name: {name}"]
    if vs.namespace_explicit:
        lines.append(f"  namespace: {vs.namespace}")
    lines += ["spec:", f"  host: {dest.host.value}", "  subsets:"]
    for subset in subsets:
        labels = labels_for_subset(ctx.index, services, subset)
        lines += [f"  - name: {subset}", "    labels:"]
        if labels:
            lines += [f"      {k}: {v}" for k, v in labels.items()]
        else:
            lines.append(f"      version: {subset}  # TODO: labels that select only the pods of subset {subset}")
    line, char = summary.end
    prefix = "\n" if char else ""
    return Fix(
        f"Create a DestinationRule for `{dest.host.value}` with subset{'s' if len(subsets) > 1 else ''} "
        + ", ".join(f"`{s}`" for s in subsets),
        (TextEdit(vs.uri, Span(line, char, line, char), prefix + "\n".join(lines) + "\n"),),
        preferred=True,
    )


RULE = Rule(
    code="subset-without-destinationrule",
    severity=Severity.ERROR,
    summary="A destination names a subset but no DestinationRule exists for its host.",
    doc=DOC,
    run=run,
    istio_codes=("IST0101",),
    kiali_codes=("KIA1107",),
)
