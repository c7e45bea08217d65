"""gatewayclass-not-found: a Gateway API Gateway's `gatewayClassName` is a typing mistake away from a class
that exists (Istio's own, or one the workspace declares) and names none itself."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity, close_matches, likely_typo, replace_fixes
from istio_lsp.checks.gateway_api.gatewayclass_controller_not_istio import ISTIO_CLASSES
from istio_lsp.index import FileSummary
from istio_lsp.model.hosts import ANY_NAMESPACE
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import KubernetesGateway

DOC = """\
A Gateway API Gateway whose `gatewayClassName` names no GatewayClass of the workspace and
none of the classes Istio installs itself (`istio`, `istio-waypoint`, `istio-remote`,
`istio-east-west`), while one of those is a typing mistake away.

## Why it matters

A Gateway belongs to the controller of its class. With no class of that name, no
controller takes the Gateway: it stays `Accepted: Unknown` ("Waiting for controller"),
gets no Envoy deployment and no address, and every route attached to it goes nowhere.
`kubectl apply` accepts it all the same.

## How sure it is

Classes of other implementations (a cloud load balancer's, Envoy Gateway's) are installed
with those products, seldom from the same repository. A class name the workspace cannot
place is therefore reported only when it is one typing mistake (two for longer names) away
from a class that exists: then it is almost certainly meant to be that one.

## Wrong

```yaml
kind: Gateway
metadata: {name: public, namespace: infra}
spec:
  gatewayClassName: itsio
```

## Right

```yaml
  gatewayClassName: istio
```

## Fixes

**Did you mean `istio`?** (or the workspace's class of the close name).

Related: Kiali KIA1504 (a `gatewayClassName` not among the classes Kiali is configured
for); the Gateway's status condition `Accepted` stays Unknown, as no controller sets it.
"""

# the classes Istio creates itself (istio-east-west with multi-network ambient)
BUILT_IN_CLASSES = frozenset({*ISTIO_CLASSES, "istio-east-west"})


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    gateways = [r for r in summary.resources if isinstance(r, KubernetesGateway) and r.class_ref is not None]
    if not gateways:
        return
    declared = {r.name for r in ctx.index.of_kind(ANY_NAMESPACE, "GatewayClass")}
    known = sorted(declared | BUILT_IN_CLASSES)
    for gateway in gateways:
        ref = gateway.class_ref
        assert ref is not None
        name = ref.value
        if name in declared or name in BUILT_IN_CLASSES or is_placeholder(name):
            continue
        suggestions = [s for s in close_matches(name, known) if likely_typo(name, s)]
        if not suggestions:
            continue  # another implementation's class, installed elsewhere
        shown = " or ".join(f"`{s}`" for s in suggestions)
        message = (
            f"No GatewayClass `{name}`: no controller takes this Gateway, so it gets no proxy and no address and "
            f"its routes go nowhere (its Accepted condition stays Unknown). Did you mean {shown}?"
        )
        yield ctx.finding(RULE, gateway, ref.span, message, fixes=list(replace_fixes(gateway.uri, ref, suggestions)))


RULE = Rule(
    code="gatewayclass-not-found",
    severity=Severity.WARNING,
    summary="A Gateway API Gateway's gatewayClassName is a typing mistake away from a class that exists.",
    doc=DOC,
    run=run,
    kiali_codes=("KIA1504",),
)
