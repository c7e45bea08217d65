"""gateway-not-found: a VirtualService binds to a Gateway that the workspace does not declare."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity, close_matches, replace_fixes
from istio_lsp.index import FileSummary
from istio_lsp.model.hosts import gateway_key, glob_match
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

Gateways are often installed by a platform team from another repository. When
the workspace declares nothing at all in the Gateway's namespace, the finding is
information rather than a warning. List gateways installed elsewhere in the
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

Related: `istioctl analyze` IST0101 ReferencedResourceNotFound; Kiali KIA1102.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for vs in summary.resources:
        if not isinstance(vs, VirtualService):
            continue
        for ref in vs.gateways:
            if ref.value.strip() == "mesh":
                continue
            namespace, name = gateway_key(ref.value, vs.namespace)
            if ctx.index.gateway(namespace, name) or glob_match(ctx.settings.external_gateways, f"{namespace}/{name}"):
                continue
            if _kubernetes_gateway(ctx, namespace, name):
                continue  # Istio binds a VirtualService to a Gateway API Gateway of that name too
            known_namespace = bool(ctx.index.in_namespace(namespace))
            message = f"No Gateway `{namespace}/{name}` in the workspace; the routes bound to it receive no traffic."
            if not known_namespace:
                message += (
                    f" The workspace declares nothing in namespace `{namespace}`: if the Gateway is installed "
                    f"elsewhere, add it to the externalGateways setting."
                )
            yield ctx.finding(
                RULE,
                vs,
                ref.span,
                message,
                severity=None if known_namespace else Severity.INFORMATION,
                fixes=list(replace_fixes(vs.uri, ref, close_matches(ref.value, _spellings(ctx, vs.namespace)))),
            )


def _kubernetes_gateway(ctx: Context, namespace: str, name: str) -> bool:
    """Whether the workspace declares a Gateway API (gateway.networking.k8s.io) Gateway `namespace/name`."""
    return any(
        r.kind == "Gateway" and r.name == name and r.api_version.startswith("gateway.networking.k8s.io/")
        for r in ctx.index.in_namespace(namespace)
    )


def _spellings(ctx: Context, namespace: str) -> list[str]:
    """How each known Gateway would be written from a VirtualService in `namespace`."""
    return [g.name if g.namespace == namespace else f"{g.namespace}/{g.name}" for g in ctx.index.all_gateways()]


RULE = Rule(
    code="gateway-not-found",
    severity=Severity.WARNING,
    summary="A VirtualService gateways entry naming a Gateway the workspace does not declare.",
    doc=DOC,
    run=run,
    istio_codes=("IST0101",),
    kiali_codes=("KIA1102",),
)
