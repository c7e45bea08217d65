"""selector-on-gateway-api-gateway: a policy that picks a Gateway API gateway's pods by `selector`, not `targetRefs`."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.ambient._dataplane import GATEWAY_CLASS, GATEWAY_NAME, WAYPOINT_CLASS
from istio_lsp.checks.base import Context, Finding, Fix, Related, Rule, Severity, TextEdit, related_to
from istio_lsp.checks.pods import built_labels, format_labels, workloads_selected, yaml_scalar
from istio_lsp.index import FileSummary, WorkspaceIndex
from istio_lsp.model.hosts import ANY_NAMESPACE, namespaces_match
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import KubernetesGateway, SelectorPolicy, Workload

DOC = """\
An AuthorizationPolicy, RequestAuthentication, Telemetry or WasmPlugin picks the pods of
a Gateway API gateway (`gateway.networking.k8s.io` Gateway) with its `selector` and sets
no `targetRefs`: the selector names the label Istio puts on those pods
(`gateway.networking.k8s.io/gateway-name`, or another `gateway.networking.k8s.io/` label),
or it matches pods in the files that carry it.

## Why it matters

Istio deploys a proxy for each Gateway API Gateway of its classes and attaches policies
to it by reference: `targetRefs` naming the Gateway. A `selector` on such a proxy is a
fallback istiod keeps for compatibility, behind its `ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY`
setting (on by default today): an installation that turns it off ignores the policy
there, without a word. A waypoint (a Gateway of class `istio-waypoint`) never applies a
policy by selector: the policy does nothing at all.

## How sure it is

| situation | severity |
|---|---|
| a waypoint: its Gateway in the files has class `istio-waypoint`, or the selector names it | warning |
| any other Gateway API gateway | information: it applies while the fallback is on |
| the policy sets `targetRef`/`targetRefs` (those attach it) | not reported |
| a placeholder in the selector | not reported |

## Wrong

```yaml
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: ingress}
spec:
  selector:
    matchLabels:
      gateway.networking.k8s.io/gateway-name: public
  action: DENY
  rules:
  - to: [{operation: {paths: ["/admin*"]}}]
```

## Right

```yaml
spec:
  targetRefs:
  - {kind: Gateway, group: gateway.networking.k8s.io, name: public}
```

## Fixes

**Attach it with `targetRefs` to Gateway `name`**: replaces `selector` with a
`targetRefs` entry naming the Gateway, when the selector says which one
(`gateway.networking.k8s.io/gateway-name`) and that Gateway can be in the policy's
namespace (`targetRefs` only name Gateways of their own namespace).

Related: `istioctl analyze` IST0166 IneffectiveSelector.
"""

_GATEWAY_API_LABELS = "gateway.networking.k8s.io/"
# the kinds istiod attaches to a Gateway API gateway by `targetRefs` (selector only as a fallback)
_KINDS = frozenset({"AuthorizationPolicy", "RequestAuthentication", "Telemetry", "WasmPlugin"})


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    index = ctx.index
    root = ctx.settings.root_namespace
    for policy in summary.resources:
        if not (isinstance(policy, SelectorPolicy) and policy.kind in _KINDS and policy.selector):
            continue
        selector = policy.selector
        if policy.targeted or any(is_placeholder(k) or is_placeholder(v) for k, v in selector.items()):
            continue
        # a policy in the root namespace applies to matching pods of every namespace
        scope = ANY_NAMESPACE if policy.namespace in (root, ANY_NAMESPACE) else policy.namespace
        pods: list[Workload] = []
        if not any(k.startswith(_GATEWAY_API_LABELS) for k in selector):
            selected = workloads_selected(index, selector, scope) or []
            pods = [w for w in selected if GATEWAY_NAME in built_labels(index, w)]
            if not pods:
                continue
        names = list(dict.fromkeys([selector[GATEWAY_NAME]] if GATEWAY_NAME in selector else []))
        names += [n for n in dict.fromkeys(built_labels(index, w)[GATEWAY_NAME] for w in pods) if n not in names]
        # the Gateway the selector names (pods named by their labels say what they are themselves)
        gateways = _kubernetes_gateways(index, selector[GATEWAY_NAME], scope) if GATEWAY_NAME in selector else []
        yield _finding(ctx, policy, names, gateways, pods)


def _kubernetes_gateways(index: WorkspaceIndex, name: str, scope: str) -> list[KubernetesGateway]:
    return [r for r in index.named(name) if isinstance(r, KubernetesGateway) and namespaces_match(r.namespace, scope)]


def _finding(
    ctx: Context,
    policy: SelectorPolicy,
    names: list[str],
    gateways: list[KubernetesGateway],
    pods: list[Workload],
) -> Finding:
    selector = policy.selector or {}
    if names:
        gateway = "Gateway API gateway" + ("s " if len(names) > 1 else " ") + ", ".join(f"`{n}`" for n in names)
    else:
        gateway = "Gateway API gateways"
    how = (
        f"names their label ({format_labels({k: v for k, v in selector.items() if k.startswith(_GATEWAY_API_LABELS)})})"
        if not pods
        else f"matches {', '.join(w.display for w in pods[:3])}, which carr{'ies' if len(pods) == 1 else 'y'} "
        f"`{GATEWAY_NAME}`"
    )
    waypoint = (
        selector.get(GATEWAY_CLASS) == WAYPOINT_CLASS
        or any(g.class_name == WAYPOINT_CLASS for g in gateways)
        or any(built_labels(ctx.index, w).get(GATEWAY_CLASS) == WAYPOINT_CLASS for w in pods)
    )
    subject = f"This {policy.kind}'s selector picks the pods of {gateway}: it {how}."
    if len(names) == 1:
        attach = f"`targetRefs: [{{kind: Gateway, group: gateway.networking.k8s.io, name: {yaml_scalar(names[0])}}}]`"
    else:
        attach = "`targetRefs` naming the Gateway"
    if waypoint:
        message = (
            f"{subject} A waypoint never applies a policy that selects it by `selector`, so this {policy.kind} "
            f"does nothing there. Attach it with {attach}."
        )
        severity = Severity.WARNING
    else:
        message = (
            f"{subject} istiod applies a selector to such a gateway only through a compatibility fallback "
            f"(`ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY`, on by default) and ignores it where that is off; "
            f"a Gateway API gateway takes its policies from `targetRefs`. Use {attach} instead of the selector."
        )
        severity = Severity.INFORMATION
    related: list[Related] = [related_to(g, f"Gateway API Gateway `{g.name}`") for g in gateways[:3]]
    related += [related_to(w, f"carries `{GATEWAY_NAME}`") for w in pods[:3]]
    return ctx.finding(
        RULE,
        policy,
        policy.selector_span or policy.name_span,
        message,
        severity=severity,
        related=related,
        fixes=_fixes(ctx, policy, names, gateways),
    )


def _fixes(ctx: Context, policy: SelectorPolicy, names: list[str], gateways: list[KubernetesGateway]) -> list[Fix]:
    """Replace `selector:` with `targetRefs` naming the Gateway, when the Gateway can be in the policy's
    namespace: outside the root namespace a selector picks pods of its own namespace only; in the root
    namespace, only when the files place the Gateway there."""
    entry = policy.selector_entry
    if entry is None or len(names) != 1:
        return []
    name = names[0]
    if policy.namespace == ctx.settings.root_namespace and not any(g.namespace == policy.namespace for g in gateways):
        return []
    text = f"targetRefs: [{{kind: Gateway, group: gateway.networking.k8s.io, name: {yaml_scalar(name)}}}]"
    title = f"Attach it with `targetRefs` to Gateway `{name}`"
    return [Fix(title, (TextEdit(policy.uri, entry, text),), preferred=True, safe=False)]


RULE = Rule(
    code="selector-on-gateway-api-gateway",
    severity=Severity.INFORMATION,
    summary="A policy that selects a Gateway API gateway's pods by `selector` instead of attaching with `targetRefs`",
    doc=DOC,
    run=run,
    istio_codes=("IST0166",),
)
