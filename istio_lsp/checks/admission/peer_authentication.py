"""PeerAuthentication admission rules (`ValidatePeerAuthentication`): port-level mTLS needs a selector.

The portLevelMtls port keys and the selector's labels are the generic rules'
(`invalid-port`, `invalid-selector`, `empty-selector`); `mtls.mode` values are the
schema's (`invalid-enum-value`); the webhook itself does not check them.
"""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Rule
from istio_lsp.checks.fields import count
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding, Severity
from istio_lsp.syntax import MappingNode
from istio_lsp.syntax.nodes import get, path

REJECTED = "kubectl apply is rejected by Istio's webhook"

DOC = """\
A PeerAuthentication sets `portLevelMtls` without selecting workloads, or sets it to
an empty map.

Checklist rows (§7 PeerAuthentication): `portLevelMtls` without a non-empty
selector ("mesh/namespace peer authentication cannot have port level mTLS");
`portLevelMtls: {}` present but empty.

## Why it matters

Port-level settings name **workload** (container) ports, and only a policy that
selects particular workloads knows which ports those are. A namespace-wide or
mesh-wide policy (no selector, or a selector without labels) cannot carry them, so
Istio's webhook and the CRD's own validation reject it. An empty `portLevelMtls`
is rejected as a likely mistake.

## Wrong

```yaml
kind: PeerAuthentication
metadata: {name: default, namespace: bookinfo}
spec:
  mtls: {mode: STRICT}
  portLevelMtls:
    9080: {mode: PERMISSIVE}
```

## Right

```yaml
kind: PeerAuthentication
metadata: {name: details-metrics, namespace: bookinfo}
spec:
  selector:
    matchLabels: {app: details}
  mtls: {mode: STRICT}
  portLevelMtls:
    9080: {mode: PERMISSIVE}
```
"""


def check(ctx: DocumentContext) -> Iterator[Finding]:
    ports = get(ctx.spec, "portLevelMtls")
    if isinstance(ports, MappingNode) and not ports.value:
        yield ctx.finding(
            RULE.code,
            Severity.ERROR,
            ["spec", "portLevelMtls"],
            f"`portLevelMtls` is empty; list the workload ports to override, or remove it; {REJECTED}.",
            key=True,
        )
        return
    if count(ports) and not count(path(ctx.spec, "selector", "matchLabels")):
        yield ctx.finding(
            RULE.code,
            Severity.ERROR,
            ["spec", "portLevelMtls"],
            f"A namespace- or mesh-wide PeerAuthentication (no `selector.matchLabels`) cannot set "
            f"`portLevelMtls`: its ports are workload ports, so select the workloads; {REJECTED}.",
            key=True,
        )


RULE = Rule(
    code="invalid-peer-authentication",
    severity=Severity.ERROR,
    summary="A PeerAuthentication sets portLevelMtls without a selector, or sets it empty.",
    doc=DOC,
    local=check,
    kinds=("PeerAuthentication",),
    istio_codes=("IST0106",),
)
