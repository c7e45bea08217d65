"""outlier-ejects-only-endpoint: outlier detection allowed to eject every endpoint of a pool that has one pod."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from istio_lsp.checks.base import Context, Finding, Rule, Severity, related_to
from istio_lsp.index import FileSummary, WorkspaceIndex
from istio_lsp.index.patches import may_be_patched
from istio_lsp.index.resolve import selected_workloads, services_for_rule, subset_selects
from istio_lsp.model.hosts import ANY_NAMESPACE, namespaces_match
from istio_lsp.model.resources import DestinationRule, OutlierPolicy, Scaler, Workload

ENVOY_DEFAULT_CONSECUTIVE_5XX = 5
ENVOY_DEFAULT_MAX_EJECTION_PERCENT = 10

DOC = """\
A DestinationRule's `outlierDetection` sets `maxEjectionPercent: 100`, and the pool
it applies to (the host, or a subset) runs a single pod in the workspace
(`replicas: 1`, or `replicas` not written, which Kubernetes reads as 1): Envoy may
eject that pod, and then has no endpoint left to send requests to.

## Why it matters

Outlier detection ejects an endpoint after `consecutive5xxErrors` server errors in
a row (5 when not written; `consecutiveGatewayErrors` counts 502, 503 and 504) for
`baseEjectionTime` (30s by default), longer at each new ejection. Envoy ejects an
endpoint only while the share of ejected endpoints stays within
`maxEjectionPercent`; with 100 nothing stops it from ejecting the last one. Envoy
then falls back to every endpoint only in "panic mode", when the share of healthy
endpoints drops below the cluster's panic threshold, and Istio sets that threshold
from `minHealthPercent`, which defaults to 0: panic mode is off. With one pod, a
short burst of errors (a restart, a slow dependency) ejects it, and every request
fails with 503 "no healthy upstream" (response flag UH) for the whole ejection,
even if the pod recovered a second later. Users meet this as "all endpoints
ejected" (<https://github.com/istio/istio/issues/20135>), and Envoy's
maintainers changed the ejection rule because a single-host cluster was being
emptied (<https://github.com/envoyproxy/envoy/issues/17504>,
<https://github.com/envoyproxy/envoy/pull/27909>). Istio's circuit-breaking task
uses exactly `consecutive5xxErrors: 1` with `maxEjectionPercent: 100` on a single
`httpbin` pod to show ejection, and copies of it carry that into real services.

Envoy proxies before that change ejected one endpoint whatever `maxEjectionPercent`
said; current ones never eject the last endpoint below 100%. So the rule reports
100% only: that empties a one-pod pool on every version.

## How sure it is

| situation | severity |
|---|---|
| `maxEjectionPercent: 100`, one pod: `replicas: 1` written, or a Pod | warning |
| the same with `replicas` not written (a tool outside the files may scale it) | information |
| the same when a namespace is not known and the pod is declared apart (another folder or build) | information |
| `minHealthPercent` above 0 (panic mode sends to every endpoint) | not reported |
| ejection off: `consecutive5xxErrors: 0` and no `consecutiveGatewayErrors` | not reported |
| an autoscaler (HorizontalPodAutoscaler, KEDA ScaledObject) targets the workload | not reported |
| a kustomize `replicas` entry or patch may change it; a DaemonSet, a Job, a placeholder | not reported |
| the workloads behind the host are not in the workspace, or run more than one pod | not reported |

## Wrong

```yaml
kind: DestinationRule
spec:
  host: ratings
  trafficPolicy:
    outlierDetection:
      consecutive5xxErrors: 1
      baseEjectionTime: 3m
      maxEjectionPercent: 100
---
kind: Deployment
metadata: {name: ratings}
spec:
  replicas: 1
```

## Right

Run more than one pod, keep `maxEjectionPercent` below 100 so the last endpoint
stays, or set `minHealthPercent` (for instance 50) so that Envoy sends to every
endpoint once too few are healthy.

## Fixes

None: which of those fits the service is yours to choose.

No `istioctl analyze` or Kiali counterpart.
"""


@dataclass
class Pool:
    label: str  # "the host", "subset `v1`"
    workloads: list[Workload]
    certain: bool  # every workload's replica count is written (or a Pod)


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for rule in summary.resources:
        if not isinstance(rule, DestinationRule) or not rule.outliers or rule.host is None:
            continue
        if may_be_patched(ctx.index, rule, "outlier"):
            continue
        services = services_for_rule(ctx.index, rule)
        workloads = list({id(w): w for s in services for w in selected_workloads(ctx.index, s)}.values())
        if not workloads:
            continue  # the pods may be deployed from elsewhere
        for policy in rule.outliers:
            if not _empties_pool(policy):
                continue
            pools = [p for p in _pools(ctx.index, rule, policy, workloads) if p is not None]
            if pools:
                yield _finding(ctx, rule, policy, pools)


def _empties_pool(policy: OutlierPolicy) -> bool:
    """Whether the policy lets Envoy eject every endpoint and leaves it none to fall back to."""
    if not policy.known or (policy.min_health_percent or 0) > 0:
        return False
    if (policy.max_ejection_percent or ENVOY_DEFAULT_MAX_EJECTION_PERCENT) < 100:
        return False
    return _threshold(policy) is not None


def _threshold(policy: OutlierPolicy) -> str | None:
    """What ejects an endpoint, or None when ejection is off."""
    errors = ENVOY_DEFAULT_CONSECUTIVE_5XX if policy.consecutive_5xx is None else policy.consecutive_5xx
    reasons = []
    if errors > 0:
        reasons.append("a single 5xx answer" if errors == 1 else f"{errors} 5xx answers in a row")
    if policy.consecutive_gateway:
        gateway = policy.consecutive_gateway
        reasons.append("a single 502/503/504" if gateway == 1 else f"{gateway} 502/503/504 answers in a row")
    if policy.local_origin:
        reasons.append("connection failures in a row")
    return " or ".join(reasons) or None


def _pools(
    index: WorkspaceIndex, rule: DestinationRule, policy: OutlierPolicy, workloads: list[Workload]
) -> list[Pool | None]:
    """The one-pod pools the policy applies to: its subset, or the host and the subsets without a policy of
    their own. None for a pool whose pods cannot be counted or are more than one."""
    subsets = {s.name.value: s for s in rule.subsets}
    if policy.subset is not None:
        chosen = subsets.get(policy.subset)
        if chosen is None:
            return []
        return [_pool(index, f"subset `{policy.subset}`", [w for w in workloads if subset_selects(chosen.labels, w)])]
    whole = _pool(index, "the host", workloads)
    if whole is not None:
        return [whole]
    own = {o.subset for o in rule.outliers if o.subset is not None}
    return [
        _pool(index, f"subset `{name}`", [w for w in workloads if subset_selects(subset.labels, w)])
        for name, subset in subsets.items()
        if name not in own
    ]


def _pool(index: WorkspaceIndex, label: str, workloads: list[Workload]) -> Pool | None:
    if not workloads:
        return None
    total = 0
    for workload in workloads:
        if workload.replicas is None or _scaled(index, workload) or may_be_patched(index, workload, "replicas"):
            return None
        total += workload.replicas
    if total != 1:
        return None
    certain = all(w.replicas_written or w.kind == "Pod" for w in workloads if w.replicas)
    return Pool(label, [w for w in workloads if w.replicas], certain)


def _scaled(index: WorkspaceIndex, workload: Workload) -> bool:
    """Whether an autoscaler of the workspace sets the workload's replicas."""
    scalers: list[Scaler] | None = index.memo.get("scalers")
    if scalers is None:
        scalers = index.memo["scalers"] = [
            r
            for uri in list(index.files)
            for variant in index.variants(uri)
            for r in variant.resources
            if isinstance(r, Scaler)
        ]
    return any(
        s.target_name
        and s.target_name in workload.name  # kustomize's namePrefix/nameSuffix rename the workload, not our ref
        and s.target_kind in (None, workload.kind)
        and namespaces_match(s.namespace, workload.namespace)
        for s in scalers
    )


def _finding(ctx: Context, rule: DestinationRule, policy: OutlierPolicy, pools: list[Pool]) -> Finding:
    pool = pools[0]
    workload = pool.workloads[0]
    replicas = "replicas: 1" if workload.replicas_written else "replicas not written, so 1"
    what = pool.label if len(pools) == 1 else ", ".join(p.label for p in pools)
    message = (
        f"`maxEjectionPercent: 100` lets Envoy eject every endpoint, and {what} runs a single pod here "
        f"({workload.display}, {replicas if workload.kind != 'Pod' else 'a Pod'}): after {_threshold(policy)} that "
        f"pod is ejected for `baseEjectionTime` ({policy.base_ejection_time or '30s by default'}, longer each time), "
        f"and with `minHealthPercent` at 0 Istio leaves Envoy's panic mode off, so every request fails with 503 "
        f'"no healthy upstream" until the ejection ends, even once the pod has recovered. Keep '
        f"`maxEjectionPercent` below 100, set `minHealthPercent`, or run more replicas."
    )
    severity = Severity.WARNING
    if not all(p.certain for p in pools):
        severity = Severity.INFORMATION
        message += " (`replicas` is not written: something outside these files may scale it.)"
    elif _apart(ctx, rule, [w for p in pools for w in p.workloads]):
        severity = Severity.INFORMATION
        message += (
            " (The namespaces are not known, and the pod is declared apart from the rule: it may not be the one "
            "the rule applies to.)"
        )
    return ctx.finding(
        RULE,
        rule,
        policy.max_ejection_span or policy.span,
        message,
        severity=severity,
        related=[related_to(w, "the only pod behind the pool") for p in pools for w in p.workloads][:10],
    )


def _apart(ctx: Context, rule: DestinationRule, workloads: list[Workload]) -> bool:
    """Whether nothing ties the workloads to the rule: a namespace is not known, and they are neither in the
    rule's folder nor built by a kustomization that builds it."""
    if all(r.namespace != ANY_NAMESPACE for r in [rule, *workloads]):
        return False
    return any(not ctx.index.deployed_together(rule.uri, w.uri) for w in workloads)


RULE = Rule(
    code="outlier-ejects-only-endpoint",
    severity=Severity.WARNING,
    summary="Outlier detection with maxEjectionPercent 100 on a pool that runs one pod: Envoy can eject it and "
    "answer 503 for the whole ejection.",
    doc=DOC,
    run=run,
)
