"""alpha-istio-annotation: an Istio annotation of a feature still in alpha."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Rule, Severity
from istio_lsp.checks.istio_annotations._annotations import POD, Written, init_container_names, written
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding

DOC = """\
An annotation whose feature Istio's registry marks alpha, on any resource or pod
template. Reported as a hint only (editors show it faintly, `istio-lsp check` counts it
only with `--fail-on hint`): many everyday sidecar annotations are alpha, and on the real
repositories the tests are measured on it would otherwise be the most frequent message.

Not reported: the annotations Istio writes itself (`sidecar.istio.io/status`,
`istio.io/rev`, `gateway.istio.io/controller-version`), and, on a pod without an
`istio-init` init container (the Istio CNI plugin sets up its traffic capture),
`sidecar.istio.io/interceptionMode` and the `traffic.sidecar.istio.io/`
`includeInboundPorts`, `excludeInboundPorts` and `includeOutboundIPRanges` annotations,
which injection writes there by default.

## Why it matters

Alpha features may change or be removed in a later Istio release without a deprecation
period. A manifest that depends on one should be re-checked on each upgrade.

## Wrong

Nothing is wrong as such; this is a reminder:

```yaml
metadata:
  annotations:
    sidecar.istio.io/proxyCPU: 200m
```

## Right

Keep it, and check Istio's release notes for the annotation when upgrading; or set the
same through a stable API (the ProxyConfig resource, mesh config) where one exists.

## Fixes

None: the annotation is valid.

Corresponds to `istioctl analyze` IST0136 (AlphaAnnotation), whose analyzer istioctl
does not run by default.
"""

# what injection writes on a pod when the CNI plugin captures its traffic: not the user's choice
_SET_WITH_CNI = frozenset(
    {
        "sidecar.istio.io/interceptionMode",
        "traffic.sidecar.istio.io/includeInboundPorts",
        "traffic.sidecar.istio.io/excludeInboundPorts",
        "traffic.sidecar.istio.io/includeOutboundIPRanges",
    }
)


def check(ctx: DocumentContext) -> Iterator[Finding]:
    for entry in written(ctx):
        if entry.definition is None or entry.definition.status != "Alpha" or _set_with_cni(entry):
            continue
        yield ctx.finding(
            RULE.code,
            RULE.severity,
            entry.key,
            f"Annotation `{entry.name}` belongs to an alpha feature of Istio: it may change or be removed in a "
            "later release without a deprecation period. Re-check it when upgrading Istio.",
        )


def _set_with_cni(entry: Written) -> bool:
    """A pod whose traffic the CNI plugin captures (no `istio-init` container) carries these by default."""
    return (
        entry.target == POD and entry.name in _SET_WITH_CNI and "istio-init" not in init_container_names(entry.pod_spec)
    )


RULE = Rule(
    code="alpha-istio-annotation",
    severity=Severity.HINT,
    summary="An Istio annotation of a feature still in alpha, which may change or go away in a later release.",
    doc=DOC,
    local=check,
    istio_codes=("IST0136",),
)
