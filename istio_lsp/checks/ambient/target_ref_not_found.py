"""target-ref-not-found: a policy's `targetRefs` naming a Gateway, GatewayClass, Service or ServiceEntry the
workspace does not declare."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.ambient._dataplane import all_gateways
from istio_lsp.checks.base import Context, Finding, Rule, Severity, close_matches, likely_typo, replace_fixes
from istio_lsp.index import FileSummary, WorkspaceIndex
from istio_lsp.model.hosts import ANY_NAMESPACE, namespaces_match
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import EnvoyFilter, PolicyTargetRef, Resource, SelectorPolicy, Service, ServiceEntry

DOC = """\
An AuthorizationPolicy, RequestAuthentication, Telemetry, WasmPlugin or EnvoyFilter
attaches with `targetRef`/`targetRefs` to a `Gateway` (`gateway.networking.k8s.io`), a
`Service`, a `ServiceEntry` (`networking.istio.io`) or a `GatewayClass` that the
workspace does not declare (in the policy's namespace; a GatewayClass is cluster-wide).

## Why it matters

A policy with `targetRefs` applies only to what they name: a Gateway API gateway (or
waypoint), the Services and ServiceEntries a waypoint serves, or every waypoint of a
GatewayClass (from the root namespace). It never falls back to selecting pods. A name
that matches nothing leaves the policy attached nowhere: an ALLOW or DENY rule, a JWT
requirement, a telemetry or Wasm setting that does nothing, without an error. A
`targetRef` names an object of the policy's own namespace only. Mixing `targetRefs` and
`selector` is refused by the API server (the CRD's validation rule, reported by the
schema checks), so this rule does not repeat it.

## How sure it is

| situation | severity |
|---|---|
| an object of that kind and name is in another namespace | warning |
| one a typing mistake away is in the policy's namespace | warning |
| nothing close in the workspace (a chart, an operator, `istioctl` may create it) | not reported |
| Istio's own GatewayClasses (`istio`, `istio-waypoint`, `istio-remote`, `istio-east-west`) | not reported |
| another kind, a `namespace` not the policy's, a placeholder | not reported (admission judges the first two) |

## Wrong

```yaml
kind: AuthorizationPolicy
metadata: {name: viewer, namespace: shop}
spec:
  targetRefs:
  - {kind: Service, group: "", name: reveiws}
```

## Right

```yaml
  - {kind: Service, group: "", name: reviews}
```

## Fixes

**Did you mean `x`?** for objects of that kind with a close name in the namespace.

Related: Kiali KIA1110-KIA1117 check the ambient policies' attachment; no
`istioctl analyze` code.
"""

GATEWAY_API = "gateway.networking.k8s.io"
BUILTIN_CLASSES = frozenset({"istio", "istio-waypoint", "istio-remote", "istio-east-west"})
_POLICY_KINDS = frozenset({"AuthorizationPolicy", "RequestAuthentication", "Telemetry", "WasmPlugin"})


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for policy in summary.resources:
        if (isinstance(policy, SelectorPolicy) and policy.kind in _POLICY_KINDS) or isinstance(policy, EnvoyFilter):
            for ref in policy.target_refs:
                yield from _check(ctx, policy, ref)


def _target_kind(ref: PolicyTargetRef) -> str | None:
    """The kind the reference names, when it is one this rule looks up."""
    group = ref.group.strip()
    if ref.kind == "Gateway" and group == GATEWAY_API:
        return "Gateway"
    if ref.kind == "GatewayClass" and group == GATEWAY_API:
        return "GatewayClass"
    if ref.kind == "Service" and group in ("", "core"):
        return "Service"
    if ref.kind == "ServiceEntry" and group == "networking.istio.io":
        return "ServiceEntry"
    return None


def _candidates(index: WorkspaceIndex, kind: str) -> list[Resource]:
    if kind == "Gateway":
        return list(all_gateways(index))
    if kind == "Service":
        return [r for r in index.of_kind(ANY_NAMESPACE, "Service") if isinstance(r, Service)]
    if kind == "ServiceEntry":
        return [r for r in index.of_kind(ANY_NAMESPACE, "ServiceEntry") if isinstance(r, ServiceEntry)]
    return index.of_kind(ANY_NAMESPACE, "GatewayClass")


def _check(ctx: Context, policy: Resource, ref: PolicyTargetRef) -> Iterator[Finding]:
    kind = _target_kind(ref)
    if kind is None or ref.name is None:
        return
    name = ref.name.value.strip()
    if not name or is_placeholder(name) or (ref.namespace or "").strip() not in ("", policy.namespace):
        return
    if kind == "GatewayClass" and name in BUILTIN_CLASSES:
        return
    cluster_wide = kind == "GatewayClass"
    everything = [r for r in _candidates(ctx.index, kind) if r.kind == kind]
    here = everything if cluster_wide else [r for r in everything if namespaces_match(r.namespace, policy.namespace)]
    if any(r.name == name for r in here):
        return
    suggestions = close_matches(name, sorted({r.name for r in here}))
    namesakes = [] if cluster_wide else [r for r in everything if r.name == name]
    where = "" if cluster_wide else f" in namespace `{policy.namespace}`"
    if policy.namespace == ANY_NAMESPACE and not cluster_wide:
        where = " in the namespace it is deployed to"
    message = (
        f"No {kind} `{name}`{where} in the workspace: this {policy.kind} applies only to what its `targetRefs` "
        f"name, so with nothing there it has no effect (it never falls back to selecting pods)."
    )
    if namesakes:
        listed = ", ".join(f"`{r.namespace}`" for r in namesakes[:3])
        message += (
            f" A {kind} of that name is in {listed}: a `targetRef` names an object of the policy's own namespace "
            f"only, so move the policy there."
        )
    elif not any(likely_typo(name, s) for s in suggestions):
        return  # nothing says it belongs in the workspace: a chart, an operator or `istioctl` may create it
    fixes = list(replace_fixes(policy.uri, ref.name, suggestions))
    yield ctx.finding(RULE, policy, ref.name.span, message, fixes=fixes)


RULE = Rule(
    code="target-ref-not-found",
    severity=Severity.WARNING,
    summary="A policy `targetRefs` entry naming a Gateway, GatewayClass, Service or ServiceEntry the workspace lacks",
    doc=DOC,
    run=run,
)
