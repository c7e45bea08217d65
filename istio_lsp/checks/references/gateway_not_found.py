"""gateway-not-found: a VirtualService binds to a Gateway that the workspace does not declare."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity, close_matches, likely_typo, replace_fixes
from istio_lsp.index import FileSummary
from istio_lsp.index.resolve import kubernetes_gateways
from istio_lsp.model.hosts import ANY_NAMESPACE, gateway_key, glob_match, is_generated_gateway, namespaces_match
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import VirtualService

DOC = """\
A VirtualService's `gateways` (or a route's `match[].gateways`) names a Gateway
that no resource in the workspace declares. `mesh` is the reserved name for all
sidecars and is always fine.

## Why it matters

A VirtualService bound to a missing Gateway is attached to no listener: traffic
through the ingress never sees its routes, and typically gets 404 from the
gateway. A bare name means a Gateway in the VirtualService's own namespace, so a
Gateway in `istio-system` must be written `istio-system/my-gateway`.

## How sure it is

Gateways are often installed by a platform team from another repository, so a
missing one is a warning only with evidence that it belongs in the workspace:

| situation | severity |
|---|---|
| the build deploying the VirtualService renames the Gateway (kustomize namePrefix or nameSuffix) | warning |
| a Gateway of that name exists in another namespace | warning |
| a Gateway a typing mistake away exists | warning |
| nothing close in the workspace | information |
| the entry matches the `externalGateways` setting | not reported |

A VirtualService without `metadata.namespace` that no kustomization places is in the
namespace it is applied to: a bare `my-gateway` then matches a Gateway of that
name in any namespace. List gateways installed elsewhere in the
`externalGateways` setting (`["istio-system/*"]`) to silence them.

## Wrong

```yaml
kind: VirtualService
metadata: {name: httpbin, namespace: default}
spec:
  gateways: [httpbin-gateway]      # the Gateway lives in istio-system
```

## Right

```yaml
  gateways: [istio-system/httpbin-gateway]
```

## Fixes

**Did you mean `x`?** for Gateways with a close name, written `ns/name` when the
Gateway is in another namespace.

Related: `istioctl analyze` IST0101 ReferencedResourceNotFound, and IST0132
VirtualServiceHostNotFoundInGateway, which it adds for the same mistake (no Gateway
serves the hosts): this rule says it once; Kiali KIA1102.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for vs in summary.resources:
        if not isinstance(vs, VirtualService):
            continue
        for ref in vs.gateways:
            if ref.value.strip() == "mesh" or is_placeholder(ref.value) or is_generated_gateway(ref.value):
                continue  # a generated name is internal-gateway-reference's
            namespace, name = gateway_key(ref.value, vs.namespace)
            if ctx.index.gateway(namespace, name) or glob_match(ctx.settings.external_gateways, f"{namespace}/{name}"):
                continue
            if kubernetes_gateways(ctx.index, namespace, name):
                continue  # Istio binds a VirtualService to a Gateway API Gateway of that name too
            shown = name if namespace == ANY_NAMESPACE else f"{namespace}/{name}"
            message = f"No Gateway `{shown}` in the workspace; the routes bound to it receive no traffic."
            suggestions = close_matches(ref.value, _spellings(ctx, vs.namespace))
            severity, why = _how_sure(ctx, ref.value, namespace, name, suggestions)
            yield ctx.finding(
                RULE,
                vs,
                ref.span,
                message + why,
                severity=severity,
                fixes=list(replace_fixes(vs.uri, ref, suggestions)),
            )


def _how_sure(ctx: Context, written: str, namespace: str, name: str, suggestions: list[str]) -> tuple[Severity, str]:
    """A warning needs evidence that the Gateway should be in the workspace: a build that renamed it,
    a Gateway of that name in another namespace, or one a typing mistake away. Gateways are often
    installed from elsewhere (a platform repository, a chart): otherwise information."""
    renamed = ctx.renamed(name)
    if renamed is not None and ctx.index.gateway(namespace, renamed):
        return Severity.WARNING, (
            f" The build {ctx.build_label()} renames Gateway `{name}` to `{renamed}` (namePrefix/nameSuffix), and "
            f"kustomize does not rewrite `gateways` entries: write `{renamed}`, or add a nameReference configuration."
        )
    namesakes = [g for g in ctx.index.gateway(ANY_NAMESPACE, name) if g.namespace != namespace]
    if namesakes:
        listed = ", ".join(f"`{g.namespace}/{g.name}`" for g in namesakes[:3])
        return Severity.WARNING, (
            f" The workspace has a Gateway of that name in another namespace: {listed} (a name without `ns/` "
            f"means the VirtualService's own namespace)."
        )
    if any(likely_typo(written, s) for s in suggestions):
        return Severity.WARNING, ""
    where = "in any namespace" if namespace == ANY_NAMESPACE else f"in `{namespace}`"
    return Severity.INFORMATION, (
        f" The workspace declares no Gateway of a close name {where}: if it is installed elsewhere, add it to "
        f"the externalGateways setting."
    )


def _spellings(ctx: Context, namespace: str) -> list[str]:
    """How each known Gateway would be written from a VirtualService in `namespace`."""
    return [
        g.name if namespaces_match(g.namespace, namespace) else f"{g.namespace}/{g.name}"
        for g in ctx.index.all_gateways()
    ]


RULE = Rule(
    code="gateway-not-found",
    severity=Severity.WARNING,
    summary="A VirtualService gateways entry naming a Gateway the workspace does not declare.",
    doc=DOC,
    run=run,
    istio_codes=("IST0101", "IST0132"),
    kiali_codes=("KIA1102",),
)
