"""subset-matches-no-workload: a DestinationRule subset whose labels select no pod of its Service."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass

from istio_lsp.checks.base import Context, Finding, Fix, Related, Rule, Severity, TextEdit, related_to
from istio_lsp.checks.together import BUILD, FILE, how_sure, together
from istio_lsp.index import FileSummary
from istio_lsp.index.patches import may_be_patched
from istio_lsp.index.resolve import (
    distinguishing_labels,
    resolve_rule_host,
    selected_workloads,
    services_for_rule,
    subset_matches_labels,
    subset_selects,
)
from istio_lsp.model.hosts import ANY_NAMESPACE, namespaces_match
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import DestinationRule, Resource, ServiceEntry, Subset, Workload, WorkloadEntry

DOC = """\
A DestinationRule subset's labels, together with the Service's selector, match
none of the workloads the workspace declares behind that Service; or, for a host
that a ServiceEntry provides, none of the endpoints the ServiceEntry lists.

## Why it matters

A subset is the set of the Service's endpoints whose pods carry the subset's
labels. When no pod carries them, the subset's cluster has no endpoints: every
request routed to it fails with 503 "no healthy upstream" (response flag UH).
Typical causes: the Deployment's pod template lacks the `version` label, the
label sits on the Deployment's own `metadata.labels` instead of
`spec.template.metadata.labels`, or the values differ (`v1` vs `1.0`).

The check only speaks when the workspace declares at least one workload that
the Service selects; otherwise the pods may be deployed from elsewhere and it
stays silent. Topology labels (`topology.kubernetes.io/...`,
`topology.istio.io/...`) are matched by Istio against nodes and clusters, not pod
labels, and are ignored, except that an empty value can never match.

A ServiceEntry's endpoints work the same way, and a subset keeps the endpoints
that carry all of its labels: an inline `endpoints[]` item carries its own
`labels`; with a `workloadSelector`, the endpoints are the WorkloadEntries of the
entry's namespace whose labels (`spec.labels` and `metadata.labels`, the latter
winning) include the selector, and the pods of that namespace it selects. The
check compares them only when the entries of the host use `STATIC` or `DNS`
resolution (with `NONE`, a sidecar forwards to the address the client asked for,
whatever the subset), hold no placeholders, no kustomize patch may change them,
and, for a selector, the files declare at least one WorkloadEntry or pod it picks
and no WorkloadGroup in its namespace (whose VMs register WorkloadEntries of
their own). When the files do not show the rule, the entry and its
WorkloadEntries applied together (one file, one kustomize build), the finding is
information.

## Wrong

```yaml
kind: DestinationRule
spec:
  host: reviews
  subsets:
  - name: v1
    labels: {version: v1}
---
kind: Deployment
spec:
  template:
    metadata:
      labels: {app: reviews}     # no version label
```

```yaml
kind: ServiceEntry
spec:
  hosts: [billing.internal.example.com]
  resolution: STATIC
  endpoints:
  - address: 10.0.0.10
    labels: {version: v1}
---
kind: DestinationRule
spec:
  host: billing.internal.example.com
  subsets:
  - name: v2
    labels: {version: v2}        # no endpoint carries it
```

## Right

```yaml
    metadata:
      labels: {app: reviews, version: v1}
```

and, for the ServiceEntry, an endpoint labelled for the subset:

```yaml
  endpoints:
  - address: 10.0.0.10
    labels: {version: v1}
  - address: 10.0.0.11
    labels: {version: v2}
```

## Fixes

**Use the labels of `<workload>`**: replaces the subset's labels with the labels
that tell that workload apart from the Service's other pods (those beyond the
Service selector), one fix per selected workload. For a ServiceEntry, **Use the
labels of endpoint `<address>`** replaces them with that endpoint's labels.

Related: `istioctl analyze` IST0173 DestinationRuleSubsetNotSelectPods; Kiali KIA0203.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for rule in summary.resources:
        if not isinstance(rule, DestinationRule) or not rule.subsets:
            continue
        # Several Services when namespaces cannot tell which one the rule means (files without a
        # namespace): a subset is fine when the pods of any of them carry its labels.
        services = services_for_rule(ctx.index, rule)
        workloads = list({id(w): w for s in services for w in selected_workloads(ctx.index, s)}.values())
        if not workloads:
            if not services:  # no Service: the host may be a ServiceEntry's, whose endpoints the files show
                yield from _entry_subsets(ctx, rule)
            continue  # the pods may be deployed from elsewhere: nothing to compare with
        for subset in rule.subsets:
            if any(subset_selects(subset.labels, w) for w in workloads):
                continue
            names = " or ".join(dict.fromkeys(s.display for s in services[:3]))
            finding = _finding(ctx, rule, subset, names, services[0].selector, workloads)
            apart = _deployed_apart(ctx, rule, [*services, *workloads])
            if apart:
                # nothing proves these pods are the ones the rule applies to
                finding.severity = Severity.INFORMATION
                finding.message += (
                    f" The namespaces are not known here, and these pods are declared apart from the rule "
                    f"({apart}): they may not be the pods it applies to, or may get the label when deployed."
                )
            yield finding


def _entry_subsets(ctx: Context, rule: DestinationRule) -> Iterator[Finding]:
    """The subsets that match none of the endpoints of the ServiceEntries behind the rule's host, when
    the files show all those endpoints: inline ones, or the WorkloadEntries and pods a workload selector
    picks; no patch that may change the entries; a resolution whose subset clusters filter by labels."""
    host = rule.host
    if host is None or "*" in host.value:
        return
    index = ctx.index
    resolution = resolve_rule_host(index, host.value, rule)
    entries = resolution.backed_entries
    if not entries or resolution.unknown or resolution.hidden or resolution.hollow_entries:
        return
    endpoints: list[_Endpoint] = []
    evidence: list[str] = []
    for entry in entries:
        if (
            entry.resolution not in _FILTERING_RESOLUTIONS
            or any("*" in ref.value for ref in entry.hosts)
            or may_be_patched(index, entry, "endpoints")
            or may_be_patched(index, entry, "workloadSelector")
        ):
            return
        found = _endpoints_of(ctx, entry)
        if not found:
            return  # its endpoints may not be those the files show
        endpoints.extend(found)
        evidence.append(together(index, rule, entry) or "")
        evidence.extend(together(index, entry, e.resource) or "" for e in found if e.resource is not entry)
    # the weakest link decides: every resource must be shown applied with the rule (one file, one build)
    severity, note = how_sure(RULE.severity, evidence if all(e in (FILE, BUILD) for e in evidence) else [""])
    for subset in rule.subsets:
        if any(is_placeholder(k) or is_placeholder(v) for k, v in subset.labels.items()):
            continue
        if any(subset_matches_labels(subset.labels, e.labels) for e in endpoints):
            continue
        finding = _entry_finding(ctx, rule, subset, entries, endpoints)
        finding.severity = severity
        finding.message += note
        yield finding


@dataclass(frozen=True)
class _Endpoint:
    """An endpoint of a ServiceEntry: an inline one, a WorkloadEntry or the pods of a workload."""

    name: str
    labels: dict[str, str]
    resource: Resource  # where it is declared
    related: Related


def _endpoints_of(ctx: Context, entry: ServiceEntry) -> list[_Endpoint]:
    """The endpoints of a ServiceEntry, when the files show them all; [] when they may not."""
    if entry.workload_selector_span is None:
        shown = not entry.has_workload_selector and all(e.labels_complete for e in entry.endpoints)
        if not shown or any(
            is_placeholder(k) or is_placeholder(v) for e in entry.endpoints for k, v in e.labels.items()
        ):
            return []
        return [
            _Endpoint(
                f"endpoint {e.address}" if e.address else "an endpoint",
                e.labels,
                entry,
                Related(entry.uri, e.span, "an endpoint of the ServiceEntry, without the subset's labels"),
            )
            for e in entry.endpoints
        ]
    selector = entry.workload_selector
    namespace = entry.namespace
    if (
        entry.endpoints
        or not selector
        or namespace == ANY_NAMESPACE
        or any(is_placeholder(k) or is_placeholder(v) for k, v in selector.items())
        or any(namespaces_match(g.namespace, namespace) for g in ctx.index.of_kind(namespace, "WorkloadGroup"))
    ):
        return []  # invalid, or the namespace's auto-registered VMs may join
    found: list[_Endpoint] = []
    for we in ctx.index.of_kind(namespace, "WorkloadEntry"):
        if not isinstance(we, WorkloadEntry) or not namespaces_match(we.namespace, namespace):
            continue
        if not we.labels_complete or any(is_placeholder(v) for v in we.endpoint_labels.values()):
            return []
        if all(we.endpoint_labels.get(k) == v for k, v in selector.items()):
            found.append(_Endpoint(we.display, we.endpoint_labels, we, related_to(we, _PICKED)))
    first_key, first_value = next(iter(selector.items()))
    for workload in ctx.index.workloads_labelled(namespace, first_key, first_value):
        if all(workload.pod_labels.get(k) == v for k, v in selector.items()):
            found.append(
                _Endpoint(
                    f"the pods of {workload.display}", workload.pod_labels, workload, related_to(workload, _PICKED)
                )
            )
    return found


_PICKED = "picked by the ServiceEntry's workloadSelector, without the subset's labels"


def _entry_finding(
    ctx: Context, rule: DestinationRule, subset: Subset, entries: list[ServiceEntry], endpoints: list[_Endpoint]
) -> Finding:
    wanted = ", ".join(f"{k}: {v}" for k, v in subset.labels.items())
    carried = "; ".join(
        f"{e.name} ({', '.join(f'{k}: {v}' for k, v in e.labels.items()) or 'no labels'})" for e in endpoints[:3]
    )
    more = f" (and {len(endpoints) - 3} more)" if len(endpoints) > 3 else ""
    names = " and ".join(dict.fromkeys(entry.display for entry in entries[:2]))
    message = (
        f"Subset `{subset.name.value}` ({wanted}) matches none of the endpoints of {names}: {carried}{more}. "
        f'The subset has no endpoints; requests routed to it get 503 "no healthy upstream". '
        f"Give the subset the labels of an endpoint, or add those labels to the endpoints meant for it."
    )
    fixes = []
    if subset.labels_span is not None:
        seen: set[tuple[tuple[str, str], ...]] = set()
        for e in endpoints:
            labels = {k: v for k, v in e.labels.items() if not is_placeholder(v)}
            if labels and tuple(labels.items()) not in seen:
                seen.add(tuple(labels.items()))
                fixes.append(_replace_labels(rule.uri, subset, e.name, labels))
    related = [e.related for e in endpoints[:10]]
    return ctx.finding(RULE, rule, subset.labels_span or subset.name.span, message, related=related, fixes=fixes)


def _deployed_apart(ctx: Context, rule: DestinationRule, others: list[Resource]) -> str:
    """Where the Services and pods compared with a rule are declared, when nothing ties them to the
    rule: their namespaces are not all known, and they are neither in the rule's folder nor built by
    a kustomization that builds the rule. "" when they are tied to it."""
    if all(r.namespace != ANY_NAMESPACE for r in [rule, *others]):
        return ""
    index = ctx.index
    apart = sorted({index.folder_of(r.uri) for r in others if not index.deployed_together(rule.uri, r.uri)})
    return ", ".join(f"`{posixpath.relpath(f, index.folder_of(rule.uri))}/`" for f in apart[:3])


def _finding(
    ctx: Context,
    rule: DestinationRule,
    subset: Subset,
    service: str,
    selector: dict[str, str],
    workloads: list[Workload],
) -> Finding:
    wanted = ", ".join(f"{k}: {v}" for k, v in subset.labels.items())
    carried = "; ".join(
        f"{w.display} has " + (", ".join(f"{k}: {v}" for k, v in w.pod_labels.items()) or "no labels")
        for w in workloads[:3]
    )
    message = (
        f"Subset `{subset.name.value}` ({wanted}) matches none of the pods behind {service}: {carried}. "
        f'The subset has no endpoints; requests routed to it get 503 "no healthy upstream".'
    )
    span = subset.labels_span or subset.name.span
    fixes = []
    if subset.labels_span is not None:
        for workload in workloads:
            labels = distinguishing_labels(workload, selector)
            if labels:
                fixes.append(_replace_labels(rule.uri, subset, workload.display, labels))
    return ctx.finding(
        RULE,
        rule,
        span,
        message,
        related=[related_to(w, "selected by the Service, without the subset's labels") for w in workloads],
        fixes=fixes,
    )


def _replace_labels(uri: str, subset: Subset, owner: str, labels: dict[str, str]) -> Fix:
    span = subset.labels_span
    assert span is not None
    if subset.labels_flow:
        text = "{" + ", ".join(f"{k}: {v}" for k, v in labels.items()) + "}"
    else:
        text = f"\n{' ' * span.start_char}".join(f"{k}: {v}" for k, v in labels.items())
    return Fix(f"Use the labels of {owner}", (TextEdit(uri, span, text),), safe=False)


_FILTERING_RESOLUTIONS = {"STATIC", "DNS", "DNS_ROUND_ROBIN"}  # NONE: a sidecar's subset cluster is ORIGINAL_DST


RULE = Rule(
    code="subset-matches-no-workload",
    severity=Severity.ERROR,
    summary="A DestinationRule subset whose labels match no pod of the Service, or no endpoint of its ServiceEntry.",
    doc=DOC,
    run=run,
    istio_codes=("IST0173",),
    kiali_codes=("KIA0203",),
)
