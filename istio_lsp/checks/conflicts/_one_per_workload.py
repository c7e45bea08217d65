"""What the Sidecar and Telemetry conflict checks share: two policies of one kind that apply to the
same pods of one namespace, where a proxy takes one of them only.

Both kinds work the same way: a policy with a selector applies to the pods it selects, one without
is the namespace's default, and at each of these levels a proxy uses a single policy (the oldest),
ignoring the rest whole. Policies that name `targetRef(s)` apply to a Gateway or a waypoint, not to
pods, and never clash here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeGuard

from istio_lsp.checks.base import Context, Finding, Related, Rule
from istio_lsp.checks.together import how_sure, same_object, together, workloads_with
from istio_lsp.index import WorkspaceIndex
from istio_lsp.model.hosts import ANY_NAMESPACE
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import Resource, SelectorPolicy, Workload


@dataclass
class Clash:
    other: SelectorPolicy
    how: str  # how the workspace shows the two are deployed together (see checks/together.py)
    shared: list[Workload] = field(default_factory=list)  # pods both select; empty for the same selector


def is_pod_policy(resource: Resource, kind: str) -> TypeGuard[SelectorPolicy]:
    """A policy of `kind` that applies to pods (by selector, or to the whole namespace) and whose
    selector is known (no placeholder a build fills in)."""
    return (
        isinstance(resource, SelectorPolicy)
        and resource.kind == kind
        and not resource.targeted
        and not any(is_placeholder(k) or is_placeholder(v) for k, v in (resource.selector or {}).items())
    )


def clashes(index: WorkspaceIndex, policy: SelectorPolicy) -> list[Clash]:
    """The other policies of the same kind, certainly in the same namespace and deployed with `policy`,
    that apply to some of the same pods."""
    mine = policy.selector or {}
    found: list[Clash] = []
    for other in index.in_namespace(policy.namespace):  # exactly that namespace (ANY_NAMESPACE: unknown ones)
        if (
            not is_pod_policy(other, policy.kind)
            or same_object(policy, other)
            or any(other is c.other for c in found)
            or (how := together(index, policy, other)) is None
        ):
            continue
        theirs = other.selector or {}
        if mine == theirs:  # both the namespace default, or the same selector
            found.append(Clash(other, how))
        elif mine and theirs and not any(theirs.get(k, v) != v for k, v in mine.items()):
            shared = workloads_with(index, {**mine, **theirs}, policy, policy.namespace)
            if shared:
                found.append(Clash(other, how, shared))
    return found


def finding(ctx: Context, rule: Rule, policy: SelectorPolicy, found: list[Clash], consequence: str) -> Finding:
    """One finding for `policy`, naming what it clashes with; `consequence` says what the proxy does."""
    severity, hedge = how_sure(rule.severity, [c.how for c in found])
    names = ", ".join(c.other.display for c in found)
    one = len(found) == 1
    where = "this namespace" if policy.namespace == ANY_NAMESPACE else f"namespace `{policy.namespace}`"
    selector = "`workloadSelector`" if policy.kind == "Sidecar" else "`selector`"
    if not policy.selector:
        what = f"{names} also {'has' if one else 'have'} no {selector} in {where}"
        span = policy.name_span
    else:
        pods = [w.display for c in found for w in c.shared]
        if pods:
            what = f"{names} also select{'s' if one else ''} the pods of {', '.join(dict.fromkeys(pods))}"
        else:
            what = f"{names} {'has' if one else 'have'} the same {selector} in {where}"
        span = policy.selector_span or policy.name_span
    related = [Related(c.other.uri, c.other.selector_span or c.other.name_span, c.other.display) for c in found]
    return ctx.finding(rule, policy, span, f"{what}: {consequence}{hedge}", severity=severity, related=related)
