"""destinationrule-host-conflict: DestinationRules Istio merges for one host that define the same thing twice."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Related, Rule, Severity
from istio_lsp.checks.together import how_sure, same_object, together
from istio_lsp.index import FileSummary, WorkspaceIndex
from istio_lsp.model.hosts import host_candidates
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import DestinationRule, Subset
from istio_lsp.syntax import Span

DOC = """\
Two DestinationRules for the same host in the same namespace both define a subset
of one name, or both set a top-level `trafficPolicy`.

## Why it matters

Istio merges the DestinationRules of one host that live in one namespace, when
neither has a `workloadSelector` (or both have the same one) and their `exportTo`
lists are the same (since Istio 1.24, `ENABLE_ENHANCED_DESTINATIONRULE_MERGE`;
before, rules of different `exportTo` were merged too). The merge is not a deep one:

- the subsets are concatenated, but a subset whose name is already taken is dropped:
  the subset of the rule created first wins, with its labels and its policy;
- the top-level `trafficPolicy` is that of the first rule that sets one; the other
  rule's policy (TLS mode, load balancer, connection pool, outlier detection) is
  ignored as a whole, not merged field by field.

Which rule counts as first depends on when they were created, so routes to `v1` may
reach other pods, or mTLS settings may be lost, after a re-install. Splitting one
host's subsets over two rules, or putting the policy in one rule and the subsets in
another, is fine: that is what the merge is for.

DestinationRules of one host in different namespaces are not merged: a proxy uses
the rule of its own namespace, else the one of the service's namespace, else the
root namespace's. A wildcard rule and an exact one are not merged either: the most
specific host wins. Neither is a conflict. Kiali's KIA0201 also warns when one of two
rules has no subsets, which Istio merges without trouble: that is not reported here.

## How sure it is

| situation (rules in one file, or deployed by one kustomize build) | severity |
|---|---|
| a subset defined twice with different labels | warning |
| both rules set a top-level `trafficPolicy` | warning |
| a subset defined twice with the same labels (only its policy may differ) | information |
| different `exportTo`, or different `workloadSelector`s (Istio keeps them apart) | not reported |
| any of the above in one folder, neither built by kustomize (a folder may hold alternatives) | information |
| rules that may never be applied together (different folders or builds), or may be one object | not reported |
| a namespace known for one rule and not the other | not reported |

Hosts are compared as Istio reads them: a short name is the service of the rule's
namespace, other names are taken as written.

## Wrong

```yaml
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews
  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
  subsets:
  - {name: v1, labels: {version: v1}}
---
kind: DestinationRule
metadata: {name: reviews-canary, namespace: shop}
spec:
  host: reviews.shop.svc.cluster.local
  trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST}}   # ignored, or the other one is
  subsets:
  - {name: v1, labels: {version: v1-canary}}             # one of the two v1 is dropped
```

## Right

One rule with both settings, or subsets of distinct names and one `trafficPolicy`.

## Fixes

None: which definition should win is for you to decide.

Related: Kiali KIA0201 (no `istioctl analyze` message).
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    index = ctx.index
    for rule in summary.resources:
        if not isinstance(rule, DestinationRule):
            continue
        found = _merged_with(index, rule)
        if not found:
            continue
        merged = [other for other, _ in found]
        evidence = {id(other): how for other, how in found}
        for subset in rule.subsets:
            if is_placeholder(subset.name.value):
                continue
            twins = [(other, s) for other in merged for s in other.subsets if s.name.value == subset.name.value]
            if twins:
                yield _subset_finding(ctx, rule, subset, twins, [evidence[id(o)] for o, _ in twins])
        if rule.traffic_policy_span is not None:
            setters = [(o, o.traffic_policy_span) for o in merged if o.traffic_policy_span is not None]
            if setters:
                how = [evidence[id(o)] for o, _ in setters]
                yield _policy_finding(ctx, rule, rule.traffic_policy_span, setters, how)


def _merged_with(index: WorkspaceIndex, rule: DestinationRule) -> list[tuple[DestinationRule, str]]:
    """The other DestinationRules Istio merges `rule` with, deployed with it (and how the workspace shows it)."""
    key = _key(rule, index.settings.cluster_domain)
    if key is None:
        return []
    found = []
    for other in index.destination_rules.lookup(key):
        if (
            not same_object(rule, other)
            and other.namespace == rule.namespace  # an unknown namespace only meets another unknown one
            and _key(other, index.settings.cluster_domain) == key
            and _selector(rule) == _selector(other)
            and _export(rule) == _export(other)
            and _selector(other) is not None
            and _export(other) is not None
            and (how := together(index, rule, other)) is not None
        ):
            found.append((other, how))
    return found


def _subset_finding(
    ctx: Context,
    rule: DestinationRule,
    subset: Subset,
    twins: list[tuple[DestinationRule, Subset]],
    evidence: list[str],
) -> Finding:
    names = ", ".join(dict.fromkeys(other.display for other, _ in twins))
    differ = [(other, s) for other, s in twins if s.labels != subset.labels]
    if differ:
        severity = Severity.WARNING
        theirs = _labels(differ[0][1].labels)
        consequence = (
            f"with other labels ({theirs} there, {_labels(subset.labels)} here): Istio merges the rules and keeps "
            f"the subset of the one created first, so which pods `{subset.name.value}` means depends on the order "
            f"they were applied"
        )
    else:
        severity = Severity.INFORMATION
        consequence = (
            "with the same labels: Istio merges the rules and keeps only the first created one's subset, so a "
            "traffic policy of the other's is ignored; keep one"
        )
    severity, hedge = how_sure(severity, evidence)
    message = f"Subset `{subset.name.value}` is also defined for this host by {names}, {consequence}.{hedge}"
    related = [
        Related(other.uri, s.name.span, f"{other.display} defines subset `{s.name.value}`") for other, s in twins
    ]
    return ctx.finding(RULE, rule, subset.name.span, message, severity=severity, related=related)


def _policy_finding(
    ctx: Context, rule: DestinationRule, span: Span, setters: list[tuple[DestinationRule, Span]], evidence: list[str]
) -> Finding:
    severity, hedge = how_sure(RULE.severity, evidence)
    names = ", ".join(other.display for other, _ in setters)
    message = (
        f"{names} also sets a top-level `trafficPolicy` for this host. Istio merges the rules but keeps the policy "
        f"of the one created first and ignores the other's as a whole (TLS, load balancing, connection pool, "
        f"outlier detection): put these settings in one DestinationRule." + hedge
    )
    related = [Related(other.uri, at, f"{other.display} sets `trafficPolicy`") for other, at in setters]
    return ctx.finding(RULE, rule, span, message, severity=severity, related=related)


def _key(rule: DestinationRule, domain: str) -> str | None:
    if rule.host is None:
        return None
    host = rule.host.value.strip().lower()
    if not host or is_placeholder(host):
        return None
    return host_candidates(host, rule.namespace, domain)[0]


def _selector(rule: DestinationRule) -> frozenset[tuple[str, str]] | None:
    """The workload selector, as Istio compares them (None: a placeholder, not known)."""
    if any(is_placeholder(k) or is_placeholder(v) for k, v in rule.workload_selector.items()):
        return None
    return frozenset(rule.workload_selector.items())


def _export(rule: DestinationRule) -> frozenset[str] | None:
    """`exportTo` as a set, as Istio compares two rules' (None: a placeholder, not known)."""
    entries = [e.strip() for e in rule.export_to if e.strip()]
    if any(is_placeholder(e) for e in entries):
        return None
    return frozenset(entries)


def _labels(labels: dict[str, str]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in labels.items()) + "}" if labels else "no labels"


RULE = Rule(
    code="destinationrule-host-conflict",
    severity=Severity.WARNING,
    summary="DestinationRules Istio merges for one host that both define a subset, or both a traffic policy.",
    doc=DOC,
    run=run,
    kiali_codes=("KIA0201",),
)
