"""service-target-port-not-exposed: a Service `targetPort` that the containers of its pods do not declare."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Fix, Related, Rule, Severity, TextEdit, close_matches, likely_typo
from istio_lsp.checks.pods import install_gateway_selector, judgeable, workloads_selected
from istio_lsp.checks.ports._protocols import istio_own
from istio_lsp.checks.together import together
from istio_lsp.index import FileSummary
from istio_lsp.index.patches import may_be_patched
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import Service, ServicePort, Workload

DOC = """\
A Service port's `targetPort` is not among the container ports of the pods the Service
selects (the workloads of the workspace its selector picks).

## Why it matters

Kubernetes reads a `targetPort` two ways:

- **a name** (`targetPort: http`) is looked up, pod by pod, among the pod's container
  ports. A pod with no container port of that name gets no endpoint for the Service
  port: when none has it, the Service has no endpoints there, connections are refused
  and Istio answers 503 "no healthy upstream";
- **a number** (or no `targetPort`: the `port` number) is used as is. `containerPort` is
  informational: traffic reaches the pod whether or not a container declares the port,
  and works when the process listens there. A number no container declares, when the
  containers do declare others, is at most a hint that the number is wrong.

## How sure it is

- **warning**: a named `targetPort` that no selected pod declares, the workloads being
  deployed with the Service (one file, folder or kustomize build);
- **information**: the same with workloads found elsewhere in the workspace only; a
  named `targetPort` some selected pods declare and others not (those get no traffic
  on it); a numeric `targetPort` no container declares while every selected workload,
  deployed with the Service, declares container ports;
- **not reported**: no selected workload in the workspace, a selector kustomize may
  rewrite, ports a kustomize patch may change (the Service's, or the containers'),
  placeholders, `ExternalName` Services, and Istio's own Services and workloads (control
  plane, gateways, waypoints).

## Wrong

```yaml
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: htp}]
---
kind: Deployment
metadata: {name: web}
spec:
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        ports: [{name: http, containerPort: 8080}]
```

## Right

```yaml
  ports: [{name: http, port: 80, targetPort: http}]
```

## Fixes

"Did you mean" a container port name of the selected pods that is a likely typo of the
named `targetPort`.

Related: Kiali KIA0701 (which also warns on numbers, and matches the Deployment by its
own labels rather than its pods'). No `istioctl analyze` equivalent.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    index = ctx.index
    for service in summary.resources:
        if (
            not isinstance(service, Service)
            or service.service_type == "ExternalName"
            or not service.ports
            or not judgeable(service.selector)
            or install_gateway_selector(service.selector)
            or istio_own(service) is not None
        ):
            continue
        selected = workloads_selected(index, service.selector, service.namespace)
        if not selected or any(istio_own(w) is not None for w in selected):
            continue
        if may_be_patched(index, service, "port") or any(may_be_patched(index, w, "port") for w in selected):
            continue  # a build's patch may add the container port or change the target: not known
        with_it = [w for w in selected if together(index, service, w) is not None]
        pods = with_it or selected
        for port in service.ports:
            target = (port.target_port or "").strip()
            if is_placeholder(target):
                continue
            if target and not target.isdigit():
                yield from _named(ctx, service, port, target, pods, sure=bool(with_it))
            elif with_it:
                number = int(target) if target else port.port
                if number is not None:
                    yield from _numbered(ctx, service, port, number, with_it)


def _named(
    ctx: Context, service: Service, port: ServicePort, target: str, pods: list[Workload], sure: bool
) -> Iterator[Finding]:
    lacking = [w for w in pods if all(p.name != target for p in w.container_ports)]
    if not lacking:
        return
    span = port.target_port_span or port.span or service.name_span
    names = sorted({p.name for w in lacking for p in w.container_ports if p.name})
    declared = f"they declare {_listing(names)}" if names else "they declare no named port"
    related = [Related(w.uri, w.name_span, f"{w.display}: {_ports(w)}") for w in lacking]
    if len(lacking) < len(pods):
        yield ctx.finding(
            RULE,
            service,
            span,
            f"The pods of {_names(lacking)} have no container port named `{target}` ({declared}): Kubernetes gives "
            f"them no endpoint for port {port.port} of this Service, so they get none of its traffic there, while the "
            f"other selected pods do.",
            severity=Severity.INFORMATION,
            related=related,
        )
        return
    suggestions = [s for s in close_matches(target, names) if likely_typo(target, s)]
    message = (
        f"No container port named `{target}` in the pods this Service selects ({_names(lacking)}; {declared}): "
        f"Kubernetes finds no endpoint for port {port.port}, so connections to it are refused (Istio answers 503 "
        f"no healthy upstream)."
    )
    if suggestions:
        message += f" Did you mean {' or '.join(f'`{s}`' for s in suggestions)}?"
    else:
        message += " Name the container port so, or use its number."
    if not sure:
        message += " (The workloads found are not deployed with this Service: they may not be its pods.)"
    fixes = [
        Fix(f"Did you mean `{s}`?", (TextEdit(service.uri, port.target_port_span, s),), preferred=n == 0)
        for n, s in enumerate(suggestions)
        if port.target_port_span is not None
    ]
    severity = Severity.WARNING if sure else Severity.INFORMATION
    yield ctx.finding(RULE, service, span, message, severity=severity, related=related, fixes=fixes)


def _numbered(
    ctx: Context, service: Service, port: ServicePort, number: int, pods: list[Workload]
) -> Iterator[Finding]:
    if any(not w.container_ports for w in pods) or any(p.number == number for w in pods for p in w.container_ports):
        return
    numbers = sorted({p.number for w in pods for p in w.container_ports if p.number is not None})
    written = "targetPort" if port.target_port else "port (no targetPort)"
    yield ctx.finding(
        RULE,
        service,
        port.target_port_span or port.span or service.name_span,
        f"No container of the pods this Service selects ({_names(pods)}) declares port {number}, its {written}; "
        f"they declare {_listing([str(n) for n in numbers])}. Kubernetes sends to {number} anyway (containerPort is "
        f"informational), so this works only if the process listens there: check the number.",
        severity=Severity.INFORMATION,
        related=[Related(w.uri, w.name_span, f"{w.display}: {_ports(w)}") for w in pods],
    )


def _names(workloads: list[Workload]) -> str:
    return ", ".join(dict.fromkeys(w.display for w in workloads))


def _listing(items: list[str]) -> str:
    return ", ".join(f"`{i}`" for i in items)


def _ports(w: Workload) -> str:
    shown = [f"{p.name or '(no name)'} {p.number if p.number is not None else '?'}" for p in w.container_ports]
    return "container ports " + ", ".join(shown) if shown else "no container ports"


RULE = Rule(
    code="service-target-port-not-exposed",
    severity=Severity.WARNING,
    summary="A Service targetPort that the containers of the pods it selects do not declare.",
    doc=DOC,
    run=run,
    kiali_codes=("KIA0701",),
)
