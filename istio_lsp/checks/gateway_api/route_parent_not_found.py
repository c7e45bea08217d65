"""route-parent-not-found: a Gateway API route's parentRef names a Gateway (or ListenerSet) the workspace
does not declare."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity, close_matches, likely_typo, replace_fixes
from istio_lsp.checks.gateway_api._attach import (
    attachment,
    is_gateway_parent,
    is_listener_set_parent,
    kubernetes_gateways,
    parent_namespace,
    routes_of,
)
from istio_lsp.index import FileSummary
from istio_lsp.model.hosts import ANY_NAMESPACE, glob_match, namespaces_match
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import GatewayParentRef, KubernetesGateway, KubernetesRoute

DOC = """\
A Gateway API route (HTTPRoute, GRPCRoute, TCPRoute, TLSRoute, UDPRoute) names in
`parentRefs` a Gateway (or ListenerSet) that no resource in the workspace declares.
Without `namespace`, a parentRef means the route's own namespace.

## Why it matters

A route attaches only to the parents it names. Istio's controller sets the route's
`Accepted` condition to False for that parent (reason `NoMatchingParent`) and programs
nothing: the Gateway answers 404 for the route's hostnames and paths.

## How sure it is

Gateways are often installed by a platform team from another repository, so a missing one
is a warning only with evidence that it belongs in the workspace:

| situation | severity |
|---|---|
| the build deploying the route renames the Gateway (kustomize namePrefix or nameSuffix) | warning |
| a Gateway of that name exists in another namespace | warning |
| a Gateway a typing mistake away exists | warning |
| nothing close, and the workspace has other resources in the Gateway's namespace | information |
| nothing close, and nothing of the Gateway's namespace in the workspace (another repository's) | not reported |
| the parent matches the `externalGateways` setting (`namespace/name`), or is a placeholder | not reported |

## Wrong

```yaml
kind: HTTPRoute
metadata: {name: web, namespace: shop}
spec:
  parentRefs:
  - name: public-gateway        # the Gateway is in namespace `infra`
```

## Right

```yaml
  parentRefs:
  - name: public-gateway
    namespace: infra
```

## Fixes

**Did you mean `x`?** for Gateways with a close name; **Set the namespace** when a Gateway of
that name is in one other namespace.

Related: Istio's route status `Accepted=False`, reason `NoMatchingParent`; Kiali KIA1401
(`istioctl analyze` reads the status Istio writes; it has no analyzer of its own for this).
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for route in routes_of(summary.resources):
        for parent in route.parents:
            if not (is_gateway_parent(parent) or is_listener_set_parent(parent)) or parent.name is None:
                continue
            name = parent.name.value
            namespace = parent_namespace(route, parent)
            if is_placeholder(name) or (parent.namespace is not None and is_placeholder(parent.namespace.value)):
                continue
            if glob_match(ctx.settings.external_gateways, f"{namespace}/{name}"):
                continue
            if attachment(ctx, route, parent).stage != "parent":
                continue
            finding = _finding(ctx, route, parent, namespace, name)
            if finding is not None:
                yield finding


def _finding(
    ctx: Context, route: KubernetesRoute, parent: GatewayParentRef, namespace: str, name: str
) -> Finding | None:
    assert parent.name is not None
    what = "Gateway" if is_gateway_parent(parent) else parent.kind
    shown = name if namespace == ANY_NAMESPACE else f"{namespace}/{name}"
    message = (
        f"No {what} `{shown}` in the workspace: Istio sets the {route.kind}'s Accepted condition to False "
        f"(NoMatchingParent) and the Gateway serves none of its rules (404)."
    )
    gateways = [g for g in _all_gateways(ctx) if is_gateway_parent(parent)]
    suggestions = close_matches(name, sorted({g.name for g in gateways if namespaces_match(g.namespace, namespace)}))
    fixes = list(replace_fixes(route.uri, parent.name, suggestions))
    severity = Severity.INFORMATION
    renamed = ctx.renamed(name)
    namesakes = [
        g for g in kubernetes_gateways(ctx, ANY_NAMESPACE, name) if g.namespace not in (namespace, ANY_NAMESPACE)
    ]
    if renamed is not None and kubernetes_gateways(ctx, namespace, renamed):
        severity = Severity.WARNING
        message += (
            f" The build {ctx.build_label()} renames Gateway `{name}` to `{renamed}` (namePrefix/nameSuffix), and "
            f"kustomize does not rewrite parentRefs unless configured to: write `{renamed}`."
        )
    elif namesakes and is_gateway_parent(parent):
        severity = Severity.WARNING
        listed = ", ".join(f"`{g.namespace}/{g.name}`" for g in namesakes[:3])
        message += (
            f" The workspace has a Gateway of that name in another namespace: {listed} (without `namespace`, "
            "a parentRef means the route's own)."
        )
        if len({g.namespace for g in namesakes}) == 1 and parent.namespace is not None:
            fixes = [*replace_fixes(route.uri, parent.namespace, [namesakes[0].namespace]), *fixes]
    elif any(likely_typo(name, s) for s in suggestions):
        severity = Severity.WARNING
    elif namespace != ANY_NAMESPACE and not ctx.index.in_namespace(namespace):
        return None  # nothing of that namespace in the workspace: the Gateway is managed elsewhere
    else:
        where = "in any namespace" if namespace == ANY_NAMESPACE else f"in `{namespace}`"
        message += (
            f" The workspace declares no Gateway of a close name {where}: if it is installed elsewhere, add "
            f"`{namespace}/{name}` to the externalGateways setting."
        )
    return ctx.finding(RULE, route, parent.name.span, message, severity=severity, fixes=fixes)


def _all_gateways(ctx: Context) -> list[KubernetesGateway]:
    return [r for r in ctx.index.of_kind(ANY_NAMESPACE, "Gateway") if isinstance(r, KubernetesGateway)]


RULE = Rule(
    code="route-parent-not-found",
    severity=Severity.WARNING,
    summary="A Gateway API route parentRef naming a Gateway the workspace does not declare (NoMatchingParent).",
    doc=DOC,
    run=run,
    kiali_codes=("KIA1401",),
)
