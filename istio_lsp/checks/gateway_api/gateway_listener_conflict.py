"""gateway-listener-conflict: listeners of one Gateway API Gateway that clash on port, protocol and hostname."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity
from istio_lsp.checks.gateway_api._attach import kubernetes_gateways
from istio_lsp.index import FileSummary
from istio_lsp.model.resources import GatewayListener, KubernetesGateway, ListenerSet

DOC = """\
Two listeners of one Gateway (or ListenerSet) use the same port with protocols that
cannot share it (`ProtocolConflict`: HTTP with anything else, TCP with HTTPS or TLS; HTTPS
and TLS may share a port, told apart by SNI; UDP uses another transport), or are TCP (or
UDP) listeners of one port that differ only by `hostname`, which plain TCP and UDP cannot
tell apart (`HostnameConflict`). The same port, protocol and hostname twice is rejected by
the API server already (`validation-rule-violated`), except between a ListenerSet and its
parent Gateway: a ListenerSet listener with the same port, protocol and hostname as one of
the Gateway's conflicts with it (`HostnameConflict`), and the Gateway's wins.

## Why it matters

The Gateway cannot tell which listener a connection is for. Istio's controller marks
the listeners `Conflicted` (reason `HostnameConflict` or `ProtocolConflict`) and does not
program the later one: routes attached to it receive no traffic.

## Wrong

```yaml
  listeners:
  - {name: web, port: 80, protocol: HTTP}
  - {name: db, port: 80, protocol: TCP}         # TCP on the HTTP listener's port
```

## Right

```yaml
  listeners:
  - {name: web, port: 80, protocol: HTTP}
  - {name: db, port: 5432, protocol: TCP}
```

Related: Istio's listener status `Conflicted=True`, reasons `HostnameConflict` and
`ProtocolConflict`; Kiali KIA1503.
"""

_TCP = ("HTTP", "HTTPS", "TLS", "TCP")


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for gateway in summary.resources:
        if not isinstance(gateway, (KubernetesGateway, ListenerSet)):
            continue
        # a ListenerSet's listeners come after its parent Gateway's, which win a conflict
        seen: list[tuple[GatewayListener, str]] = [
            (listener, f" of {parent.display}") for parent in _parents(ctx, gateway) for listener in parent.listeners
        ]
        for listener in gateway.listeners:
            found = next(
                ((other, where, reason) for other, where in seen if (reason := _conflict(listener, other, where))),
                None,
            )
            seen.append((listener, ""))
            if found is None or listener.port is None:
                continue
            clash, where, reason = found
            if reason == "HostnameConflict" and where:
                what = f"the same port ({listener.port}), protocol and hostname as listener `{clash.name}`{where}"
            elif reason == "HostnameConflict":
                what = (
                    f"port {listener.port} with {listener.protocol} listener `{clash.name}`, and "
                    f"{listener.protocol} cannot tell hostnames apart"
                )
            else:
                what = (
                    f"port {listener.port} with listener `{clash.name}`{where} ({clash.protocol}): "
                    "protocols that cannot share a port"
                )
            message = (
                f"Listener `{listener.name}` has {what}: Istio marks it Conflicted ({reason}) and does not program "
                f"it; routes attached to it receive no traffic."
            )
            yield ctx.finding(RULE, gateway, listener.port_span or listener.span or gateway.name_span, message)


def _parents(ctx: Context, resource: KubernetesGateway | ListenerSet) -> list[KubernetesGateway]:
    parent = resource.parent if isinstance(resource, ListenerSet) else None
    if parent is None or parent.name is None or parent.kind != "Gateway":
        return []
    namespace = parent.namespace.value if parent.namespace is not None else resource.namespace
    found = kubernetes_gateways(ctx, namespace, parent.name.value)
    return found if len(found) == 1 else []  # several (overlays, unknown namespaces): which one is meant?


def _conflict(a: GatewayListener, b: GatewayListener, across: str = "") -> str | None:
    """How two listeners conflict; `across`: `b` is another resource's (the CRD's rule does not see the pair)."""
    if a.port is None or a.port != b.port or a.protocol is None or b.protocol is None:
        return None
    pa, pb = a.protocol.upper(), b.protocol.upper()
    if pa == pb:
        # TCP and UDP cannot tell hosts apart; the same port, protocol and hostname in one resource the API
        # server rejects already (the CRD's validation rule), so it is not reported twice
        host_a = a.hostname.value.lower() if a.hostname is not None else ""
        host_b = b.hostname.value.lower() if b.hostname is not None else ""
        if host_a == host_b:
            return "HostnameConflict" if across else None
        return "HostnameConflict" if pa in ("TCP", "UDP") else None
    if pa in _TCP and pb in _TCP and {pa, pb} != {"HTTPS", "TLS"}:
        return "ProtocolConflict"
    return None


RULE = Rule(
    code="gateway-listener-conflict",
    severity=Severity.ERROR,
    summary="Listeners of one Gateway that clash on port, protocol and hostname (Conflicted).",
    doc=DOC,
    run=run,
    kiali_codes=("KIA1503",),
)
