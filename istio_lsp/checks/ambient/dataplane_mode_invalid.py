"""dataplane-mode-invalid: an `istio.io/dataplane-mode` label with a value Istio does not know."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.ambient._dataplane import AMBIENT, DATAPLANE_MODE, NONE, label
from istio_lsp.checks.base import Rule, Severity
from istio_lsp.checks.local import DocumentContext
from istio_lsp.checks.suggest import close_matches
from istio_lsp.findings import Finding, Fix, TextEdit
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import WORKLOAD_KINDS

DOC = """\
An `istio.io/dataplane-mode` label on a Namespace or on a workload's pod template has a
value other than `ambient` or `none`.

## Why it matters

Istio's CNI captures a pod into ambient mode when the pod or its Namespace is labelled
`istio.io/dataplane-mode: ambient` (exactly that, lower case), and leaves out a pod
labelled `none`. Any other value (`Ambient`, `enabled`, `true`) matches neither: on a
Namespace it enrols nothing, so its pods keep running outside the mesh (no mTLS, no
policy); on a pod it neither enrols it nor opts it out of an ambient Namespace. Nothing
rejects the label, so the mistake shows only as traffic that is not secured.

## Wrong

```yaml
kind: Namespace
metadata:
  name: shop
  labels: {istio.io/dataplane-mode: Ambient}
```

## Right

```yaml
  labels: {istio.io/dataplane-mode: ambient}
```

## Fixes

**Set it to `ambient`** (or `none`): when the value is one of them but for case or
spacing, or a likely misspelling of one.

Related: no `istioctl analyze` code (its analyzers compare the label with `ambient` and
ignore other values).
"""

_VALUES = (AMBIENT, NONE)
_KINDS = frozenset({"Namespace", *WORKLOAD_KINDS})


def check(ctx: DocumentContext) -> Iterator[Finding]:
    if ctx.resource.kind not in _KINDS:
        return
    written = label(ctx.resource, DATAPLANE_MODE)
    if written is None:
        return
    value = written.value.value
    if value in _VALUES or is_placeholder(value):
        return
    where = "Namespace" if ctx.resource.kind == "Namespace" else "pod template"
    if ctx.resource.kind == "Namespace":
        effect = "its pods are not enrolled in ambient mode and run outside the mesh"
    else:
        effect = "it neither enrols these pods in ambient mode nor opts them out of an ambient Namespace"
    message = (
        f"`{DATAPLANE_MODE}: {value}` on this {where} is neither `{AMBIENT}` nor `{NONE}`, the only values Istio "
        f"reads: {effect}. Write `{AMBIENT}` (enrol) or `{NONE}` (opt out)."
    )
    normalized = value.strip().lower()
    choices = [normalized] if normalized in _VALUES else close_matches(normalized, _VALUES, limit=1)
    fixes = [
        Fix(
            f"Set it to `{choice}`",
            (TextEdit(ctx.uri, written.value.span, f"{written.value.quote}{choice}{written.value.quote}"),),
            preferred=True,
        )
        for choice in choices
    ]
    yield ctx.finding(RULE.code, RULE.severity, written.value.span, message, fixes=fixes)


RULE = Rule(
    code="dataplane-mode-invalid",
    severity=Severity.WARNING,
    summary="An `istio.io/dataplane-mode` label that is neither `ambient` nor `none`: Istio ignores it",
    doc=DOC,
    local=check,  # every kind: a kind-specific local rule reads only Istio's resources and workloads
)
