"""reserved-proxy-uid: a workload that runs as UID 1337, the user the sidecar proxy runs as."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Rule
from istio_lsp.checks.fields import items_at, mapping_at, text
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding, Severity
from istio_lsp.model.resources import WORKLOAD_KINDS, Workload
from istio_lsp.syntax import MappingNode
from istio_lsp.syntax.nodes import PathSegment

DOC = """\
A Pod, or the pod template of a Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or
CronJob, sets `runAsUser: 1337` in a container's `securityContext`, or in the pod's for
containers that do not set their own.

## Why it matters

UID 1337 is the user Istio's sidecar runs as. The iptables rules the sidecar installs
leave every packet sent by that user alone, so that the proxy's own traffic is not
sent back to itself. An application container running as 1337 is therefore never
intercepted: its outbound requests skip the proxy entirely, without mTLS, routing
rules, authorization policies or telemetry, and with STRICT mTLS on the other side they
are refused.

A container named `istio-proxy` (a sidecar declared by hand) is meant to run as 1337
and is not reported, nor is a pod that opts out of injection
(`sidecar.istio.io/inject: "false"`).

## Wrong

```yaml
spec:
  template:
    spec:
      securityContext:
        runAsUser: 1337
```

## Right

```yaml
spec:
  template:
    spec:
      securityContext:
        runAsUser: 1000
```

## Fixes

None: pick another UID the image can run as.

Related: `istioctl analyze` IST0144 (InvalidApplicationUID).
"""

PROXY_UID = "1337"
PROXY_CONTAINER = "istio-proxy"


def check(ctx: DocumentContext) -> Iterator[Finding]:
    workload = ctx.resource
    if not isinstance(workload, Workload) or workload.api_version not in WORKLOAD_KINDS.get(workload.kind, ()):
        return
    if (workload.sidecar_inject or "").lower() == "false":
        return
    pod = _pod_spec_path(workload.kind)
    pod_spec = ctx.at(pod)
    inherit = False  # some application container runs as the pod's user
    for key in ("containers", "initContainers"):
        for index, container in enumerate(items_at(pod_spec, key)):
            name = text(container, "name")
            if name == PROXY_CONTAINER:
                continue
            own = text(mapping_at(container, "securityContext"), "runAsUser")
            inherit = inherit or own is None
            if own == PROXY_UID:
                path = [*pod, key, index, "securityContext", "runAsUser"]
                yield _finding(ctx, path, f"Container `{name}`" if name else "A container")
    if inherit and _runs_as_proxy(mapping_at(pod_spec, "securityContext")):
        yield _finding(ctx, [*pod, "securityContext", "runAsUser"], "The pod's `securityContext`")


def _runs_as_proxy(security_context: MappingNode | None) -> bool:
    return text(security_context, "runAsUser") == PROXY_UID


def _pod_spec_path(kind: str) -> list[PathSegment]:
    if kind == "Pod":
        return ["spec"]
    if kind == "CronJob":
        return ["spec", "jobTemplate", "spec", "template", "spec"]
    return ["spec", "template", "spec"]


def _finding(ctx: DocumentContext, path: list[PathSegment], who: str) -> Finding:
    return ctx.finding(
        RULE.code,
        RULE.severity,
        path,
        f"{who} runs as UID 1337, the sidecar proxy's own user: the sidecar's iptables rules let that user's "
        "traffic pass untouched, so this container's outbound requests bypass the proxy (no mTLS, routing, "
        "policies or telemetry). Run it as another UID.",
    )


RULE = Rule(
    code="reserved-proxy-uid",
    severity=Severity.WARNING,
    summary="A workload runs as UID 1337, the sidecar proxy's user, so its traffic bypasses the proxy",
    doc=DOC,
    local=check,
    kinds=tuple(WORKLOAD_KINDS),
    istio_codes=("IST0144",),
)
