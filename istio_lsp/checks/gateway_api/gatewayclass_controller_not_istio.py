"""gatewayclass-controller-not-istio: a GatewayClass that is plainly meant for Istio names another controller."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity, likely_typo, replace_fixes
from istio_lsp.index import FileSummary
from istio_lsp.model.resources import GatewayClass

DOC = """\
A GatewayClass whose name is one of Istio's own classes (`istio`, `istio-waypoint`,
`istio-remote`, `istio-east-west`), or whose `controllerName` is a typing mistake away
from Istio's (`istio.io/gateway-controller`, `istio.io/mesh-controller`,
`istio.io/unmanaged-gateway`), names a controller that is not Istio's.

## Why it matters

Only the controller a class names acts on its Gateways. Istio ignores Gateways of a class
that names another controller: their listeners get no Envoy deployment and no
configuration, and their routes stay unattached. A class named `istio` that another
controller owns also takes the name Istio installs its own class under.

## How sure it is

Any other class may well be meant for another implementation (Envoy Gateway, Cilium,
a cloud load balancer): only the two clear signs above are reported.

## Wrong

```yaml
kind: GatewayClass
metadata: {name: istio}
spec:
  controllerName: istio.io/gateway-controler
```

## Right

```yaml
  controllerName: istio.io/gateway-controller
```

## Fixes

**Did you mean `istio.io/gateway-controller`?** (or the mesh controller, for waypoints).

Related: Istio's GatewayClass status `Accepted` (Istio sets it only for its own
controllers). Kiali's KIA1504 judges a Gateway's `gatewayClassName` against its own
configuration instead.
"""

ISTIO_CONTROLLERS = ("istio.io/gateway-controller", "istio.io/mesh-controller", "istio.io/unmanaged-gateway")
ISTIO_CLASSES = {
    "istio": "istio.io/gateway-controller",
    "istio-remote": "istio.io/unmanaged-gateway",
    "istio-waypoint": "istio.io/mesh-controller",
}


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for gateway_class in summary.resources:
        if not isinstance(gateway_class, GatewayClass) or gateway_class.controller is None:
            continue
        controller = gateway_class.controller.value.strip()
        if controller in ISTIO_CONTROLLERS:
            continue
        near = [c for c in ISTIO_CONTROLLERS if likely_typo(controller, c)]
        meant = ISTIO_CLASSES.get(gateway_class.name)
        if not near and meant is None:
            continue
        suggestions = near or [meant or ISTIO_CONTROLLERS[0]]
        why = (
            f"`{controller}` is a typing mistake away from Istio's `{near[0]}`"
            if near
            else f"the class is named like Istio's own `{gateway_class.name}` class (Istio's controller: `{meant}`)"
        )
        message = (
            f"GatewayClass `{gateway_class.name}` names controller `{controller}`, and {why}: Istio ignores the "
            f"Gateways of this class (no deployment, no configuration, routes unattached)."
        )
        yield ctx.finding(
            RULE,
            gateway_class,
            gateway_class.controller.span,
            message,
            fixes=list(replace_fixes(gateway_class.uri, gateway_class.controller, suggestions)),
        )


RULE = Rule(
    code="gatewayclass-controller-not-istio",
    severity=Severity.WARNING,
    summary="A GatewayClass meant for Istio (by its name, or a near-miss controllerName) naming another controller.",
    doc=DOC,
    run=run,
)
