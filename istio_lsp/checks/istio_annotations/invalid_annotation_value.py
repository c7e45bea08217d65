"""invalid-istio-annotation-value: a pod annotation value Istio's sidecar injector does not accept."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Rule, Severity
from istio_lsp.checks.istio_annotations._annotations import applies_to, judged_text, string_scalar, written
from istio_lsp.checks.istio_annotations._values import VALIDATORS
from istio_lsp.checks.local import DocumentContext, replace_scalar
from istio_lsp.findings import Finding
from istio_lsp.syntax import ScalarNode

DOC = """\
A pod annotation whose value Istio's sidecar injector rejects. The injector checks these
annotations before it injects a pod (on a Pod, or in a workload's pod template):

- `sidecar.istio.io/interceptionMode`: REDIRECT, TPROXY or NONE;
- `status.sidecar.istio.io/port`: a port number;
- `readiness.status.sidecar.istio.io/initialDelaySeconds`, `periodSeconds`,
  `failureThreshold`: whole numbers (no sign, no spaces);
- `traffic.sidecar.istio.io/includeOutboundIPRanges` (also `*`) and
  `excludeOutboundIPRanges`: comma-separated CIDR ranges such as `10.0.0.0/8`, no spaces;
- `traffic.sidecar.istio.io/includeInboundPorts` (also `*`), `excludeInboundPorts`,
  `excludeOutboundPorts`: comma-separated port numbers;
- `traffic.sidecar.istio.io/excludeInterfaces`, `kubevirtInterfaces`,
  `istio.io/reroute-virtual-interfaces`: comma-separated interface names (at most 15
  characters: letters, digits, `_`, `.`, `-`);
- `prometheus.istio.io/merge-metrics`: a boolean;
- `sidecar.istio.io/proxyCPU`, `proxyMemory`, `proxyCPULimit`, `proxyMemoryLimit`:
  Kubernetes quantities (`500m`, `1`, `256Mi`);
- `proxy.istio.io/config`: a ProxyConfig in YAML whose fields have values of their type
  and pass Istio's checks (addresses are `host:port`, ports are in range…).

Values holding a template placeholder are not judged.

## Why it matters

The injector refuses to inject a pod whose annotations do not validate, and its webhook
fails closed: Kubernetes does not create the pod, and a Deployment's ReplicaSet keeps
failing to create its replicas with the injector's error.

## Wrong

```yaml
metadata:
  annotations:
    traffic.sidecar.istio.io/excludeOutboundIPRanges: "10.0.0.0/8, 172.16.0.0/12"
    readiness.status.sidecar.istio.io/periodSeconds: 10s
```

## Right

```yaml
metadata:
  annotations:
    traffic.sidecar.istio.io/excludeOutboundIPRanges: "10.0.0.0/8,172.16.0.0/12"
    readiness.status.sidecar.istio.io/periodSeconds: "10"
```

## Fixes

- **Use `…`**: where the meant value is plain: the interception mode in capitals, a
  number without spaces, a CIDR list without spaces (a bare IP given `/32`), a boolean
  for `yes`/`no`, a quantity without a trailing `B` (`512MiB` → `512Mi`).

Corresponds to `istioctl analyze` IST0125 (InvalidAnnotation).
"""


def check(ctx: DocumentContext) -> Iterator[Finding]:
    for entry in written(ctx):
        validator = VALIDATORS.get(entry.name)
        if validator is None or entry.definition is None or not applies_to(entry.definition, entry):
            continue
        text = judged_text(entry)
        if text is None:
            continue
        problem = validator(text)
        if problem is None:
            continue
        fixes = []
        if problem.fixed is not None and problem.fixed != text and isinstance(entry.value, ScalarNode):
            written_as = string_scalar(entry.value, problem.fixed)
            if written_as is not None:
                fixes.append(replace_scalar(ctx, entry.value, written_as, f"Use `{problem.fixed}`", safe=False))
        yield ctx.finding(
            RULE.code,
            RULE.severity,
            entry.value,
            f"Invalid value for `{entry.name}`: `{_short(text)}` {problem.text}. Istio's sidecar injector refuses "
            "to inject a pod with this annotation, and Kubernetes does not create the pod.",
            fixes=fixes,
        )


def _short(text: str) -> str:
    one_line = text.replace("\n", " ")
    return one_line if len(one_line) <= 60 else one_line[:57] + "..."


RULE = Rule(
    code="invalid-istio-annotation-value",
    severity=Severity.WARNING,
    summary="A pod annotation value Istio's sidecar injector rejects (a malformed port list, CIDR, number...).",
    doc=DOC,
    local=check,
    istio_codes=("IST0125",),
)
