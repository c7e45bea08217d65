"""port-level-setting-not-found: a DestinationRule port-level setting for a port the host's service does not expose."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Fix, Rule, Severity, TextEdit
from istio_lsp.checks.ports._exposure import (
    Exposure,
    exposing,
    mapped_to,
    not_exposed,
    rule_exposure,
    target_port_hint,
)
from istio_lsp.index import FileSummary
from istio_lsp.index.patches import may_be_patched
from istio_lsp.model.resources import DestinationRule, PortSetting

DOC = """\
A DestinationRule's `trafficPolicy.portLevelSettings[].port.number` (of the host, or
of a subset) names a port that the Service behind the host does not expose (its
`spec.ports[].port`; for a ServiceEntry host, its `spec.ports[].number`).

## Why it matters

Istio builds one Envoy cluster per port the service exposes, and applies a
port-level setting to the cluster of the port it names: the Service port, not the
pods' container port. A setting for a port the service does not have matches no
cluster and is silently ignored, so the traffic of the real port keeps the
top-level policy: the connection limits, load balancer, TLS origination or outlier
detection written for it never apply, and nothing says so. People regularly
expect a port-level setting to cover traffic it does not apply to
(<https://github.com/istio/istio/issues/41257>), and the settings of a port do not
inherit from the top-level policy either, which makes a setting that lands on no
port easy to miss (<https://github.com/istio/istio/issues/58297>). The usual cause is
the container port (`targetPort`) written for the Service port (`8080` for a
Service that maps `80 → 8080`), or a Service port renumbered without the rule.

## How sure it is

| situation | severity |
|---|---|
| the host resolves to Services or ServiceEntries, and none exposes the port | warning |
| the host is not found, hidden, external, a wildcard or a placeholder | not reported |
| a provider's ports are not all known (a placeholder, no `ports`), or a build patches them or the rule | not reported |

When the namespace is not known and several Services could be meant, the port is
fine if any of them exposes it.

## Wrong

```yaml
kind: Service
metadata: {name: reviews}
spec:
  ports: [{name: http, port: 9080, targetPort: 8080}]
---
kind: DestinationRule
spec:
  host: reviews
  trafficPolicy:
    portLevelSettings:
    - port: {number: 8080}          # the container port
      connectionPool: {http: {http2MaxRequests: 100}}
```

## Right

```yaml
    - port: {number: 9080}
```

## Fixes

**Use port N**, for each port the service exposes that the same policy does not
set already (preferred when the port written is the `targetPort` of exactly one of
them, or when the service exposes one port).

No `istioctl analyze` or Kiali counterpart.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for rule in summary.resources:
        if not isinstance(rule, DestinationRule) or not rule.port_settings or may_be_patched(ctx.index, rule, "port"):
            continue
        found = rule_exposure(ctx, rule)
        if found is None:
            continue
        for setting in rule.port_settings:
            if setting.number is not None and setting.number not in found.union:
                yield _finding(ctx, rule, setting, found)


def _finding(ctx: Context, rule: DestinationRule, setting: PortSetting, found: Exposure) -> Finding:
    assert setting.number is not None and rule.host is not None
    scope = f"subset `{setting.subset}`" if setting.subset else "the host"
    message = (
        f"{not_exposed(found, rule.host.value, setting.number)}: Istio applies a port-level setting to the cluster of "
        f"the service port it names, and there is none for {setting.number}, so this setting never applies; traffic "
        f"to {scope} keeps the policy above it."
    )
    message += target_port_hint(found, setting.number, "name the Service port")
    return ctx.finding(
        RULE,
        rule,
        setting.span,
        message,
        related=exposing(found),
        fixes=_fixes(rule, setting, found),
    )


def _fixes(rule: DestinationRule, setting: PortSetting, found: Exposure) -> list[Fix]:
    assert setting.number is not None
    taken = {s.number for s in rule.port_settings if s.subset == setting.subset}
    ports = [p for p in found.union if p not in taken]
    mapped = [p for p in mapped_to(found, setting.number) if p in ports]
    best = mapped[0] if len(mapped) == 1 else ports[0] if len(found.union) == 1 and ports else None
    return [
        Fix(
            f"Use port {port}",
            (TextEdit(rule.uri, setting.span, str(port)),),
            preferred=port == best,
            safe=port == best and len(found.union) == 1,
        )
        for port in ports
    ]


RULE = Rule(
    code="port-level-setting-not-found",
    severity=Severity.WARNING,
    summary="A DestinationRule port-level setting for a port the host's Service or ServiceEntry does not expose: "
    "it never applies.",
    doc=DOC,
    run=run,
)
