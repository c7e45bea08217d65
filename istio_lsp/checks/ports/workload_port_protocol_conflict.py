"""workload-port-protocol-conflict: Services that lead to one container port with different protocols."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from istio_lsp.checks.base import Context, Finding, Related, Rule, Severity
from istio_lsp.checks.ports._protocols import (
    copies,
    declared,
    handling,
    istio_own,
    proxied,
    without_sidecar,
    workloads_behind,
)
from istio_lsp.index import FileSummary
from istio_lsp.index.patches import may_be_patched
from istio_lsp.index.resolve import selecting_services
from istio_lsp.index.workspace import WorkspaceIndex
from istio_lsp.model.hosts import ANY_NAMESPACE, namespaces_match
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import Service, ServicePort, Workload

DOC = """\
Two Service ports lead to the same container port of a workload, and declare
protocols a sidecar handles differently: opaque TCP, HTTP/1.1, or HTTP/2 (gRPC).
The ports may belong to two Services that select the workload (`details` on 9080 as
`http`, `details-tcp` on 9080 as `tcp`) or map different Service ports to the same
`targetPort`.

## Why it matters

A sidecar builds one inbound handler per container port. When several Service ports
lead to it, Istio keeps the protocol of the oldest Service and drops the others, so
which protocol applies depends on the order the Services were created, and the other
Service's clients get the wrong handling: HTTP requests proxied as opaque TCP lose
routing, retries, authorization rules on paths and HTTP metrics; TCP connections
through an HTTP handler are cut; gRPC or HTTP/2 calls forwarded to the app as
HTTP/1.1 (or the reverse) fail. Istio counts these as inbound listener conflicts.

## How sure it is

- **warning**: both ports declare their protocol, and the Services and the workload
  are deployed together (the same folder or the same kustomize build).
- **information**: one of the ports is sniffed (no protocol declared: which handler
  wins decides whether it is sniffed), or the resources share a namespace written in
  their files but are not deployed together (they may never be applied together).
- **not reported**: ports that lead to different container ports, or whose protocols
  are handled alike (`http` and `http-web`, `tcp` and `tls`); namesakes that may share a
  namespace (two versions of one Service); workloads the files show
  without a sidecar (`sidecar.istio.io/inject: "false"`, a Namespace with
  `istio-injection: disabled`, waypoints); resources of unrelated samples; UDP and
  SCTP ports; ports a kustomize patch may rewrite.

`istioctl analyze` reports any two Services that select a mesh Deployment with the
same port number and different `protocol` fields (IST0116), and any two that map one
`targetPort` from different port numbers (IST0137), on the Deployment. The first also
fires when the ports lead to different container ports, and the second when the
protocols agree; neither conflicts in the sidecar, so this rule does not report them.

## Wrong

```yaml
kind: Service
metadata: {name: details}
spec:
  selector: {app: details}
  ports: [{name: http, port: 9080}]
---
kind: Service
metadata: {name: details-tcp}
spec:
  selector: {app: details}
  ports: [{name: tcp, port: 9080}]    # the same pods' port 9080, as TCP
```

## Right

One protocol per container port: name both ports for the protocol the container
speaks, or have the second Service lead to another container port.

## Fixes

None: which protocol the container speaks is not known from the files.

Related: `istioctl analyze` IST0116 DeploymentAssociatedToMultipleServices and
IST0137 DeploymentConflictingPorts.
"""

_CONSEQUENCES = {
    frozenset({"TCP", "HTTP/1.1"}): "HTTP requests handled as opaque TCP lose HTTP routing, policies and "
    "metrics, and TCP connections through the HTTP handler are cut",
    frozenset({"TCP", "HTTP/2"}): "HTTP/2 and gRPC calls handled as opaque TCP lose HTTP routing, policies "
    "and metrics, and TCP connections through the HTTP/2 handler are cut",
    frozenset({"HTTP/1.1", "HTTP/2"}): "requests reach the app over the other HTTP version (HTTP/1.1 to a "
    "gRPC or HTTP/2 server, or HTTP/2 to an HTTP/1.1 one), which fails",
}


@dataclass
class Clash:
    other: Service
    other_port: ServicePort
    workload: Workload
    pod_port: str  # for messages: "9080", "`http`"
    certain: bool  # both ports declare a protocol and everything is deployed together


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    index = ctx.index
    for service in summary.resources:
        if not isinstance(service, Service):
            continue
        found = _port_clashes(index, service)
        if not found:
            continue
        # a conflict that is only possible (information) must hold in every build's copy: the core
        # raises a finding some builds lack to a warning
        others = [_port_clashes(index, c) if isinstance(c, Service) else {} for c in copies(index, service)]
        for position, clashes in found.items():
            if any(c.certain for c in clashes) or all(position in other for other in others):
                yield _finding(ctx, service, service.ports[position], clashes)


def _port_clashes(index: WorkspaceIndex, service: Service) -> dict[int, list[Clash]]:
    """The clashes of each of the Service's ports, by the port's position."""
    if not service.selector or service.service_type == "ExternalName":
        return {}
    ports = [(n, p) for n, p in enumerate(service.ports) if _handled(p) is not None]
    if not ports or istio_own(service) is not None or may_be_patched(index, service, "port"):
        return {}
    workloads = [w for w in workloads_behind(index, service) if not without_sidecar(index, w)]
    found: dict[int, list[Clash]] = {}
    for position, port in ports:
        clashes = [c for w in workloads for c in _clashes(index, service, port, w)]
        if clashes:
            found[position] = clashes
    return found


def _handled(port: ServicePort) -> str | None:
    """How a sidecar handles the port (None: not proxied, or a placeholder)."""
    found = declared(port)
    if not proxied(port) or found.unknown or port.port is None:
        return None
    return handling(found.protocol)


def _clashes(index: WorkspaceIndex, service: Service, port: ServicePort, workload: Workload) -> Iterator[Clash]:
    target = _pod_port(port, workload)
    mine = _handled(port)
    if target is None or mine is None:
        return
    # a patch may change the pod template (its ports, its sidecar): then the conflict is only possible
    patched = may_be_patched(index, workload, "template")
    meeting = [
        (other, _together(index, service, other, workload))
        for other in selecting_services(index, workload)
        if other is service or (_peer(service, other) and not may_be_patched(index, other, "port"))
    ]
    # Services deployed with this one, if any: copies elsewhere in the same namespace are not its peers
    together: list[tuple[Service, bool | None]] = [(o, t) for o, t in meeting if t is True and o is not service]
    peers = together or [(o, t) for o, t in meeting if t is False]
    for other, deployed in [(service, True), *peers]:
        for other_port in other.ports:
            theirs = _handled(other_port)
            if other_port is port or theirs is None or theirs == mine or _pod_port(other_port, workload) != target:
                continue
            certain = deployed and not patched and "sniffed" not in (mine, theirs)
            yield Clash(other, other_port, workload, _shown(target), bool(certain))


def _peer(service: Service, other: Service) -> bool:
    """Whether another Service can stand beside this one: not Istio's own, and not a namesake that
    may be in its namespace (two versions of one object: applying one replaces the other)."""
    if other.name == service.name and namespaces_match(other.namespace, service.namespace):
        return False
    return istio_own(other) is None


def _pod_port(port: ServicePort, workload: Workload) -> int | str | None:
    """The container port a Service port leads to in a workload: a number, or a port name the
    workload does not resolve (the same name is the same port); None for a placeholder."""
    target = (port.target_port or "").strip()
    if not target:
        return port.port
    if is_placeholder(target):
        return None
    if target.isdigit():
        return int(target)
    numbers = {p.number for p in workload.container_ports if p.name == target and p.number is not None}
    return numbers.pop() if len(numbers) == 1 else target


def _shown(target: int | str) -> str:
    return str(target) if isinstance(target, int) else f"`{target}`"


def _together(index: WorkspaceIndex, service: Service, other: Service, workload: Workload) -> bool | None:
    """True when the two Services and the workload are deployed together; False when they only share
    a namespace their files (or builds) give; None when nothing says they meet (unrelated samples)."""
    uris = (service.uri, other.uri, workload.uri)
    if all(index.deployed_together(a, b) for a in uris for b in uris if a < b):
        return True
    if service.namespace != ANY_NAMESPACE and service.namespace == other.namespace == workload.namespace:
        return False
    return None


def _label(port: ServicePort) -> str:
    found = declared(port)
    name = f"`{port.name}`, " if port.name else ""
    protocol = found.protocol if found.protocol is not None else "no protocol: sniffed"
    return f"port {port.port} ({name}{protocol})"


def _finding(ctx: Context, service: Service, port: ServicePort, clashes: list[Clash]) -> Finding:
    index = ctx.index
    mine = _handled(port)
    # one line per other port and container port, whatever the number of workload copies behind them
    grouped: dict[tuple[int, int, str], list[Clash]] = {}
    for clash in clashes:
        grouped.setdefault((id(clash.other), id(clash.other_port), clash.pod_port), []).append(clash)
    parts = []
    for group in grouped.values():
        clash = group[0]
        whose = "this Service" if clash.other is service else clash.other.display
        workloads = " and ".join(dict.fromkeys(c.workload.display for c in group))
        parts.append(f"{_label(clash.other_port)} of {whose} lead to container port {clash.pod_port} of {workloads}")
    handlers = {h for h in (mine, *(_handled(c.other_port) for c in clashes)) if h is not None and h != "sniffed"}
    consequence = _CONSEQUENCES.get(frozenset(handlers)) if len(handlers) == 2 else None
    message = (
        f"This Service's {_label(port)} and {'; and '.join(parts)}, with protocols a sidecar handles "
        f"differently. The sidecar keeps one inbound handler per container port, with the protocol of the "
        f"oldest of these Services, so the other's traffic gets the wrong one"
    )
    message += f": {consequence}." if consequence else "."
    if not any(c.certain for c in clashes):
        reasons = []
        if any("sniffed" in (mine, _handled(c.other_port)) for c in clashes):
            reasons.append("when the sniffing handler is the one kept, HTTP traffic is still recognised")
        if any(not _deployed_together(index, service, c) for c in clashes):
            reasons.append("the resources are not deployed together, so they may never be applied together")
        if any(may_be_patched(index, c.workload, "template") for c in clashes):
            reasons.append("a kustomize patch may change the workload's pods")
        message += f" It may not matter: {'; '.join(reasons)}."
    codes = sorted({code for c in clashes for code in _istio_codes(port, c.other_port)})
    if codes:
        message += f" istioctl analyze reports it on the workload ({', '.join(codes)})."
    else:
        message += (
            " istioctl analyze does not report it: it compares the Services' `protocol` fields and port "
            "numbers, not the protocols their names declare."
        )
    severity = Severity.WARNING if any(c.certain for c in clashes) else Severity.INFORMATION
    related = []
    for clash in clashes:
        at = clash.other_port.name_span or clash.other_port.first_key_span or clash.other.name_span
        related.append(Related(clash.other.uri, at, f"{_label(clash.other_port)} of {clash.other.display}"))
        related.append(Related(clash.workload.uri, clash.workload.name_span, f"its container port {clash.pod_port}"))
    where = port.name_span or port.first_key_span or port.span or service.name_span
    return ctx.finding(RULE, service, where, message, severity=severity, related=_unique(related))


def _istio_codes(port: ServicePort, other: ServicePort) -> list[str]:
    """What istioctl analyze reports for two ports of Services selecting one Deployment: IST0116 for
    one port number with different `protocol` fields, IST0137 for one targetPort (as written) reached
    from different port numbers."""
    codes = []
    if port.port == other.port and (port.protocol or "TCP") != (other.protocol or "TCP"):
        codes.append("IST0116")
    if port.port != other.port and _written_target(port) == _written_target(other):
        codes.append("IST0137")
    return codes


def _written_target(port: ServicePort) -> str:
    target = (port.target_port or "").strip()
    return str(port.port) if target in ("", "0") else target


def _deployed_together(index: WorkspaceIndex, service: Service, clash: Clash) -> bool:
    return _together(index, service, clash.other, clash.workload) is True


def _unique(related: list[Related]) -> list[Related]:
    return list(dict.fromkeys(related))


RULE = Rule(
    code="workload-port-protocol-conflict",
    severity=Severity.WARNING,
    summary="Service ports that lead to one container port of a workload with protocols a sidecar handles differently.",
    doc=DOC,
    run=run,
    istio_codes=("IST0116", "IST0137"),
)
