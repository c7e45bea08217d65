"""gateway-port-not-on-service: a Gateway server port that no Service of the gateway's pods exposes."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Related, Rule, Severity
from istio_lsp.checks.pods import format_labels, judgeable, together, workloads_selected
from istio_lsp.index import FileSummary, WorkspaceIndex
from istio_lsp.index.resolve import selecting_services
from istio_lsp.model.hosts import ANY_NAMESPACE
from istio_lsp.model.resources import Gateway, Service, Workload

DOC = """\
A Gateway's server listens on a `port.number` that none of the Services in front of
the gateway's pods exposes, as a `port` or as a `targetPort`. Only judged when the
workspace declares the gateway pods (those the Gateway's `selector` picks) and, for
each of them, the Services that select them.

## Why it matters

istiod opens the gateway listener on the pod port the Service maps the server's port
to (`port` → `targetPort`), or on the number itself when no Service port has it.
Either way, a number the Service does not expose is a listener nothing outside the
pod can reach: clients of the load balancer never arrive there, and the
VirtualServices bound to that server route nothing.

## How sure it is

| situation | severity |
|---|---|
| the gateway pods and their Services are deployed with the Gateway (one folder or kustomize build) | warning |
| they are elsewhere in the workspace | information |
| no pod of the workspace is selected, or a pod has no Service | not reported (installed from elsewhere) |
| a Service port's `targetPort` is a name no container port of the pods has | not reported |

## Wrong

```yaml
kind: Gateway
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 8080, name: http, protocol: HTTP}
    hosts: ["*"]
---
kind: Service            # in front of the istio: ingressgateway pods
spec:
  ports:
  - {name: http2, port: 80, targetPort: 8080}   # 8080 is a targetPort: this one is fine
  - {name: https, port: 443, targetPort: 8443}
```

A server on port 9090 would be reported: neither a `port` nor a `targetPort` above.

## Right

Listen on a port the Service exposes (80 or 8080 above), or add the port to the
gateway's Service.

## Fixes

None: whether the Gateway or the Service should change is yours to decide.

Related: `istioctl analyze` IST0162 (GatewayPortNotDefinedOnService).
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    index = ctx.index
    for gateway in summary.resources:
        if not isinstance(gateway, Gateway) or not judgeable(gateway.selector):
            continue
        if not any(s.port is not None and s.port_span is not None for s in gateway.servers):
            continue
        pods = workloads_selected(index, gateway.selector, ANY_NAMESPACE)
        if not pods:
            continue  # installed from elsewhere, or relabelled by a build in ways the files do not show
        exposed = _exposed_ports(index, pods)
        if exposed is None:
            continue
        numbers, services = exposed
        severity = Severity.WARNING if together(index, gateway, pods) else Severity.INFORMATION
        for server in gateway.servers:
            if server.port is None or server.port_span is None or server.port in numbers:
                continue
            shown = ", ".join(str(n) for n in sorted(numbers))
            yield ctx.finding(
                RULE,
                gateway,
                server.port_span,
                f"Port {server.port} is not exposed by the Services in front of the pods this Gateway selects "
                f"({format_labels(gateway.selector)}): {', '.join(s.display for s in services)} expose {shown} "
                "(ports and target ports). The listener opens on the pod, but no client traffic reaches it. "
                "Use one of those ports, or add this one to the gateway's Service.",
                severity=severity,
                related=[Related(s.uri, s.name_span, f"{s.display} (a Service of the gateway pods)") for s in services],
            )


def _exposed_ports(index: WorkspaceIndex, pods: list[Workload]) -> tuple[set[int], list[Service]] | None:
    """The port and target port numbers of the Services that select the pods, and those Services;
    None when a pod has no Service in the workspace, or a port cannot be read."""
    numbers: set[int] = set()
    services: list[Service] = []
    for pod in pods:
        mine = selecting_services(index, pod)
        if not mine:
            return None  # its Service is declared elsewhere
        for service in mine:
            if any(service is s for s in services):
                continue
            services.append(service)
            for port in service.ports:
                if port.port is None:
                    return None
                numbers.add(port.port)
                target = port.target_port
                if target is None:
                    continue
                if target.isdigit():
                    numbers.add(int(target))
                    continue
                named = {c.number for p in pods for c in p.container_ports if c.name == target and c.number}
                if not named:
                    return None
                numbers |= named
    return numbers, services


RULE = Rule(
    code="gateway-port-not-on-service",
    severity=Severity.WARNING,
    summary="A Gateway server listens on a port that no Service of the gateway's pods exposes",
    doc=DOC,
    run=run,
    istio_codes=("IST0162",),
)
