"""authorization-l7-on-ztunnel: HTTP rules in an AuthorizationPolicy that only ztunnel enforces."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.ambient._dataplane import (
    AMBIENT,
    DATAPLANE_MODE,
    USE_WAYPOINT,
    ambient_mode,
    ambient_namespace,
    waypoint_use,
)
from istio_lsp.checks.base import Context, Finding, Related, Rule, Severity, related_to
from istio_lsp.checks.namespaces import namespace_objects
from istio_lsp.checks.pods import format_labels, judgeable, workloads_selected
from istio_lsp.index import FileSummary
from istio_lsp.model.hosts import ANY_NAMESPACE
from istio_lsp.model.resources import Resource, SelectorPolicy

DOC = """\
An AuthorizationPolicy without `targetRefs` (namespace-wide, or with a `selector`)
applies to pods in ambient mode, and its rules use HTTP attributes: `to.operation`
`hosts`, `methods`, `paths` (or their `not` forms), `from.source` `requestPrincipals`
or `remoteIpBlocks` (or their `not` forms), or a `when` key other than `source.ip`,
`source.namespace`, `source.principal`, `destination.ip` and `destination.port`.
Reported only when the files show the pods are in ambient mode (their Namespace, in the
files, is labelled `istio.io/dataplane-mode: ambient` without sidecar injection).

## Why it matters

A policy without `targetRefs` is enforced for ambient pods by ztunnel, the node proxy,
which sees connections, not HTTP requests. A waypoint never applies it: a waypoint
takes only the policies that name it (or the Services it serves) in `targetRefs`, even
when the pods use one. istiod converts the policy for ztunnel, marks it accepted with a
warning (`UnsupportedValue`) and:

- for an **ALLOW** policy, drops every rule that uses an HTTP attribute: those rules
  allow nothing, so the requests they were written for are denied (a policy whose rules
  all use HTTP attributes denies everything);
- for a **DENY** policy, removes the HTTP attributes and enforces what is left of each
  rule: a rule left with ports or sources denies all that traffic, whatever its path or
  method, and a rule left with nothing denies nothing.

Either way the result differs from what is written. Enforce HTTP rules at a waypoint:
deploy one, enrol the Services (`istio.io/use-waypoint`), and attach the policy with
`targetRefs` (kind `Service`, or the waypoint `Gateway`).

## Wrong

```yaml
kind: Namespace
metadata: {name: shop, labels: {istio.io/dataplane-mode: ambient}}
---
kind: AuthorizationPolicy
metadata: {name: reviews-get, namespace: shop}
spec:
  selector: {matchLabels: {app: reviews}}
  action: ALLOW
  rules:
  - to: [{operation: {methods: [GET]}}]
```

## Right

```yaml
spec:
  targetRefs:
  - {kind: Service, group: "", name: reviews}
  action: ALLOW
  rules:
  - to: [{operation: {methods: [GET]}}]
```

## Fixes

None: attaching the policy to a waypoint changes where it applies, which is for you to
decide.

Related: Kiali KIA0109, KIA0110, KIA1317; on a live cluster, the policy's
`ZtunnelAccepted` condition (IST0171).
"""

_ENFORCED = ("", "ALLOW", "DENY")  # ztunnel refuses CUSTOM and AUDIT policies outright


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    index = ctx.index
    for policy in summary.resources:
        if not (isinstance(policy, SelectorPolicy) and policy.kind == "AuthorizationPolicy"):
            continue
        if policy.targeted or not policy.l7_attributes or (policy.action or "") not in _ENFORCED:
            continue
        namespace = policy.namespace
        if namespace in ("", ANY_NAMESPACE) or namespace == ctx.settings.root_namespace:
            continue
        namespaces = namespace_objects(index, namespace, policy)
        if not namespaces:
            continue  # the files cannot show the pods are in ambient mode
        if not policy.selector:
            if not all(ambient_namespace(n) for n in namespaces):
                continue
            subject = f"Namespace `{namespace}` is in ambient mode (`{DATAPLANE_MODE}: {AMBIENT}`)"
            related: list[Related] = []
        else:
            if not judgeable(policy.selector):
                continue
            found = workloads_selected(index, policy.selector, namespace)
            if not found or not all(ambient_mode(index, w, namespaces) is True for w in found):
                continue
            shown = ", ".join(w.display for w in found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
            subject = f"The pods it selects ({format_labels(policy.selector)}: {shown}) are in ambient mode"
            related = [related_to(w, "selected; in ambient mode") for w in found[:3]]
        yield _finding(ctx, policy, subject, namespaces, related)


def _finding(
    ctx: Context, policy: SelectorPolicy, subject: str, namespaces: list[Resource], related: list[Related]
) -> Finding:
    attributes = list(dict.fromkeys(a.value for a in policy.l7_attributes))
    listed = ", ".join(f"`{a}`" for a in attributes)
    if (policy.action or "ALLOW") == "ALLOW":
        effect = (
            "in an ALLOW policy it drops every rule that uses one, so those rules allow nothing and the requests "
            "they were written for are denied"
        )
    else:
        effect = (
            "in a DENY policy it enforces each rule without them, so a rule left with ports or sources denies all "
            "that traffic, and a rule left with nothing denies nothing"
        )
    waypoints = [u for n in namespaces if (u := waypoint_use(n)) is not None]
    if waypoints:
        where = (
            f" The namespace uses waypoint `{waypoints[0].name}` ({USE_WAYPOINT}), but a waypoint applies only the "
            f"policies that name it or its Services in `targetRefs`."
        )
    else:
        where = " Deploy a waypoint and enrol the Services with `istio.io/use-waypoint`, then"
    fix = (
        " Attach this policy with `targetRefs` (kind `Service`, or the waypoint `Gateway`) instead."
        if waypoints
        else " attach this policy with `targetRefs` (kind `Service`, or the waypoint `Gateway`)."
    )
    message = (
        f"{subject}, so ztunnel enforces this AuthorizationPolicy, and ztunnel cannot read HTTP attributes "
        f"({listed}): {effect}.{where}{fix}"
    )
    related = related + [related_to(n, f"Namespace `{n.name}`: {format_labels(n.labels)}") for n in namespaces[:1]]
    related += [Related(policy.uri, a.span, f"`{a.value}` also needs HTTP") for a in policy.l7_attributes[1:4]]
    return ctx.finding(RULE, policy, policy.l7_attributes[0].span, message, related=related)


RULE = Rule(
    code="authorization-l7-on-ztunnel",
    severity=Severity.WARNING,
    summary="HTTP rules in an AuthorizationPolicy that ztunnel enforces for ambient pods: it cannot read them",
    doc=DOC,
    run=run,
    kiali_codes=("KIA0109", "KIA0110", "KIA1317"),
)
