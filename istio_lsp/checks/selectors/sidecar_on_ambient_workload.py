"""sidecar-on-ambient-workload: a Sidecar for pods in ambient mode, which run no sidecar proxy to configure."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.ambient._dataplane import (
    AMBIENT,
    DATAPLANE_MODE,
    INJECTION,
    ambient_mode,
    ambient_namespace,
    injected,
)
from istio_lsp.checks.base import Context, Finding, Rule, Severity, related_to
from istio_lsp.checks.namespaces import namespace_objects
from istio_lsp.checks.pods import format_labels, judgeable, workloads_selected
from istio_lsp.index import FileSummary
from istio_lsp.model.hosts import ANY_NAMESPACE
from istio_lsp.model.resources import Resource, SelectorPolicy

DOC = """\
A Sidecar applies to pods in ambient mode: it has no `workloadSelector` and its
Namespace (in the files) is labelled `istio.io/dataplane-mode: ambient` without sidecar
injection, or every workload its `workloadSelector` picks runs in ambient mode.

## Why it matters

A Sidecar resource configures sidecar proxies: which hosts they import, their
listeners, their outbound policy. A pod in ambient mode has no sidecar: ztunnel on
its node carries its traffic (and a waypoint, if it has one), and neither reads
Sidecar resources. The Sidecar is accepted and changes nothing.

A pod is in ambient mode when it carries `istio.io/dataplane-mode: ambient`, or when
its Namespace does and the pod does not opt out (`istio.io/dataplane-mode: none`),
unless the injector gives it a sidecar: its Namespace is labelled
`istio-injection: enabled` or `istio.io/rev`, or (on a Namespace with neither) the pod
asks with `sidecar.istio.io/inject: "true"` or an `istio.io/rev` label. A pod with a
sidecar is never captured by ambient. Dumps of running pods show it directly: Istio's
CNI annotates the pods it captured `ambient.istio.io/redirection: enabled`.

## How sure it is

| situation | severity |
|---|---|
| no selector; its Namespace in the files is ambient without injection | warning |
| every workload the selector picks is ambient, and its Namespace is in the files | warning |
| the same, but the Namespace is not in the files (it could enable injection) | information |
| some pods it applies to get (or may get) a sidecar | not reported |
| a Sidecar in the root namespace without selector (the mesh-wide default) | not reported |

## Wrong

```yaml
kind: Namespace
metadata:
  name: shop
  labels: {istio.io/dataplane-mode: ambient}
---
kind: Sidecar
metadata: {name: default, namespace: shop}
spec:
  egress:
  - hosts: ["./*", "istio-system/*"]
```

## Right

Remove the Sidecar; for ambient pods, configure egress with waypoints and
ServiceEntries. If these pods should keep a sidecar, label the Namespace
`istio-injection: enabled` (the pods are then not captured by ambient).

## Fixes

None: whether to drop the Sidecar or move the pods back to sidecars is for you to say.

Related: `istioctl analyze` IST0167 IneffectivePolicy (Sidecar).
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    index = ctx.index
    for sidecar in summary.resources:
        if not isinstance(sidecar, SelectorPolicy) or sidecar.kind != "Sidecar":
            continue
        namespace = sidecar.namespace
        if namespace in ("", ANY_NAMESPACE):
            continue
        namespaces = namespace_objects(index, namespace, sidecar)
        if not sidecar.selector:
            if namespace != ctx.settings.root_namespace:
                yield from _namespace_wide(ctx, sidecar, namespaces)
        elif judgeable(sidecar.selector):
            yield from _selected(ctx, sidecar, namespaces)


def _namespace_wide(ctx: Context, sidecar: SelectorPolicy, namespaces: list[Resource]) -> Iterator[Finding]:
    if not namespaces or not all(ambient_namespace(n) for n in namespaces):
        return
    index = ctx.index
    workloads = [w for w in index.workloads_in(sidecar.namespace) if index.deployed_together(w.uri, sidecar.uri)]
    if any(injected(index, w, namespaces) for w in workloads):
        return  # those pods have sidecars, and this Sidecar configures them
    message = (
        f"Namespace `{sidecar.namespace}` is in ambient mode (`{DATAPLANE_MODE}: {AMBIENT}`, no sidecar "
        f"injection): its pods run without a sidecar proxy, and ztunnel and waypoints do not read Sidecar "
        f"resources, so this Sidecar configures nothing. Remove it, or enable sidecar injection "
        f"(`{INJECTION}: enabled`) if these pods should keep sidecars."
    )
    related = [related_to(n, f"Namespace `{n.name}`: {format_labels(n.labels)}") for n in namespaces[:2]]
    yield ctx.finding(RULE, sidecar, sidecar.name_span, message, related=related)


def _selected(ctx: Context, sidecar: SelectorPolicy, namespaces: list[Resource]) -> Iterator[Finding]:
    index = ctx.index
    assert sidecar.selector
    found = workloads_selected(index, sidecar.selector, sidecar.namespace)
    if not found:
        return  # none (selector-matches-no-workload), or the files cannot tell
    modes = [ambient_mode(index, w, namespaces) for w in found]
    if not all(m is not False for m in modes):
        return  # some selected pods have (or may have) a sidecar: it configures them
    shown = ", ".join(w.display for w in found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
    they = "runs" if len(found) == 1 else "run"
    if namespaces and all(ambient_namespace(n) for n in namespaces):
        why = f"namespace `{sidecar.namespace}` is labelled `{DATAPLANE_MODE}: {AMBIENT}`"
    else:
        why = f"{'its' if len(found) == 1 else 'their'} pods are labelled for it"
    message = (
        f"The workloads this Sidecar selects ({format_labels(sidecar.selector)}) are in ambient mode: {shown} "
        f"{they} without a sidecar proxy ({why}, with no sidecar injection). ztunnel and waypoints do not read "
        f"Sidecar resources, so this Sidecar configures nothing. Remove it, or give those pods sidecars if they "
        f"should keep them."
    )
    severity = None
    if any(m is None for m in modes):
        severity = Severity.INFORMATION
        message += (
            f" Their Namespace is not in the files: if it enables sidecar injection (`{INJECTION}: enabled`), "
            f"they get sidecars and this applies."
        )
    related = [related_to(w, "selected; in ambient mode") for w in found[:3]]
    related += [related_to(n, f"Namespace `{n.name}`: {format_labels(n.labels)}") for n in namespaces[:1]]
    yield ctx.finding(
        RULE, sidecar, sidecar.selector_span or sidecar.name_span, message, severity=severity, related=related
    )


RULE = Rule(
    code="sidecar-on-ambient-workload",
    severity=Severity.WARNING,
    summary="A Sidecar for pods in ambient mode: they run no sidecar proxy, so it configures nothing",
    doc=DOC,
    run=run,
    istio_codes=("IST0167",),
)
