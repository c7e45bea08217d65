"""misplaced-istio-annotation: an Istio annotation on a kind of object it does not apply to."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Rule, Severity
from istio_lsp.checks.istio_annotations._annotations import (
    ANY,
    POD,
    Written,
    applies_to,
    group_of,
    has_template,
    placement_is_known,
    template_metadata,
    template_where,
    written,
)
from istio_lsp.checks.istio_annotations._moves import move_fix
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding, Fix

DOC = """\
An annotation Istio defines, written on a kind of object it does not apply to: a
sidecar setting on a Deployment's own metadata instead of its pod template, a Service
setting on a Namespace, `kubernetes.io/ingress.class` anywhere but on an Ingress.
Which kinds each annotation applies to comes from Istio's annotation registry.

A workload's pod template counts as a Pod. A Gateway API Gateway counts as its Pods and
Service too: Istio copies its annotations onto the Deployment and Service it creates for
it. Resources of third-party API groups are not judged (their controllers may copy
annotations onto the objects they create), and neither is `istio.io/dry-run` on Istio's
networking and security kinds, which the webhook check `invalid-metadata` reports.

## Why it matters

Istio reads each annotation from one kind of object only. The sidecar injector reads
the Pod's annotations, and Kubernetes does not copy a Deployment's own annotations onto
its pods, so a sidecar annotation there changes nothing: the proxy keeps its defaults.

## Wrong

```yaml
kind: Deployment
metadata:
  name: reviews
  annotations:
    sidecar.istio.io/proxyCPU: 500m
spec:
  template:
    metadata:
      labels: {app: reviews}
```

## Right

```yaml
kind: Deployment
metadata:
  name: reviews
spec:
  template:
    metadata:
      labels: {app: reviews}
      annotations:
        sidecar.istio.io/proxyCPU: 500m
```

## Fixes

- **Move it to the pod template**: for a pod annotation on a workload's own metadata,
  moves the line into `spec.template.metadata.annotations` (offered when both are
  written in block style).

Corresponds to `istioctl analyze` IST0107 (MisplacedAnnotation).
"""

# the webhook check invalid-metadata rejects it on these groups' kinds, as an error
_DRY_RUN = "istio.io/dry-run"
_WEBHOOK_GROUPS = ("networking.istio.io", "security.istio.io")


def check(ctx: DocumentContext) -> Iterator[Finding]:
    known = placement_is_known(ctx)
    for entry in written(ctx):
        definition = entry.definition
        if definition is None or ANY in definition.resources or applies_to(definition, entry):
            continue
        if not entry.template and not known:
            continue
        if entry.name == _DRY_RUN and group_of(ctx.resource.api_version) in _WEBHOOK_GROUPS:
            continue
        kinds = [kind for kind in definition.resources if kind != "Unknown"]
        if not kinds:
            continue
        yield _finding(ctx, entry, kinds)


def _finding(ctx: DocumentContext, entry: Written, kinds: list[str]) -> Finding:
    only = f"Misplaced annotation `{entry.name}`: Istio reads it only on {_listing(kinds)} resources"
    fixes: list[Fix] = []
    if POD in kinds and not entry.template and has_template(ctx):
        message = (
            f"{only}, and a {entry.target}'s own annotations are not copied to its pods, so here it has no effect. "
            f"Move it to `{template_where(ctx)}`."
        )
        fix = move_fix(ctx, entry, template_metadata(ctx), "annotations", "Move it to the pod template", safe=False)
        fixes = [fix] if fix is not None else []
    elif entry.template:
        message = (
            f"{only}; in a pod template it lands on the pods, where it has no effect. "
            f"Put it on the {_listing(kinds)} it is meant for."
        )
    else:
        message = f"{only}, not on a {entry.target}: here it has no effect."
    return ctx.finding(RULE.code, RULE.severity, entry.key, message, fixes=fixes)


def _listing(kinds: list[str]) -> str:
    return kinds[0] if len(kinds) == 1 else ", ".join(kinds[:-1]) + f" or {kinds[-1]}"


RULE = Rule(
    code="misplaced-istio-annotation",
    severity=Severity.WARNING,
    summary="An Istio annotation on a kind of object it does not apply to (a pod annotation on a Deployment).",
    doc=DOC,
    local=check,
    istio_codes=("IST0107",),
)
