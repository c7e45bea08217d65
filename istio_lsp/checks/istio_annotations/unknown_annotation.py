"""unknown-istio-annotation: an annotation in an Istio domain that Istio does not define."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Rule, Severity, close_matches
from istio_lsp.checks.istio_annotations._annotations import (
    Written,
    applies_to,
    is_label,
    read_by_istio,
    written,
)
from istio_lsp.checks.istio_annotations._registry import ANNOTATIONS
from istio_lsp.checks.local import DocumentContext, replace_scalar
from istio_lsp.findings import Finding

DOC = """\
An annotation key in one of Istio's domains (`istio.io` and its subdomains such as
`sidecar.istio.io`, `proxy.istio.io`, `traffic.sidecar.istio.io`) that Istio does not
define. Both a resource's own `metadata.annotations` and a workload's pod template
(`spec.template.metadata.annotations`) are read.

Keys that Istio reads although its published registry does not list them are not
reported: `istio.io/connect-strategy`, `networking.istio.io/address-type`,
`prometheus.istio.io/secure-port`, `proxy.istio.io/health-checks-enabled`, and the
`internal.istio.io/…` keys istiod writes on the objects it generates. Keys that hold
a template placeholder are not judged.

## Why it matters

Nothing reads an annotation Istio does not know, and the API server accepts any
annotation, so a misspelt key fails silently: the sidecar keeps its default resources,
the port stays captured, the Service stays exported everywhere. When the key is one of
Istio's *labels* (`istio.io/dataplane-mode`, `istio.io/use-waypoint`), Istio reads it
from `metadata.labels` only.

## Wrong

```yaml
kind: Deployment
spec:
  template:
    metadata:
      annotations:
        sidecar.istio.io/proxyCpu: 200m
```

## Right

```yaml
kind: Deployment
spec:
  template:
    metadata:
      annotations:
        sidecar.istio.io/proxyCPU: 200m
```

## Fixes

- **Did you mean `…`?**: renames the key to a close annotation Istio defines, preferring
  those that apply to the kind of object that carries it.

Corresponds to `istioctl analyze` IST0108 (UnknownAnnotation).
"""

# close_matches compares DNS names label by label and leaves out the labels two names end
# with; an annotation key is compared whole, so its dots are hidden from it
_DOT, _MASK = ".", "\u00b7"


def check(ctx: DocumentContext) -> Iterator[Finding]:
    for entry in written(ctx):
        if read_by_istio(entry.name):
            continue
        if is_label(entry.name):
            yield ctx.finding(
                RULE.code,
                RULE.severity,
                entry.key,
                f"`{entry.name}` is an Istio label, not an annotation: Istio reads it from `metadata.labels` "
                f"only, so written under `{entry.where}` it has no effect. Move it to the labels beside it.",
            )
            continue
        suggestions = suggest(entry)
        hint = f" Did you mean `{suggestions[0]}`?" if suggestions else ""
        yield ctx.finding(
            RULE.code,
            RULE.severity,
            entry.key,
            f"Unknown annotation `{entry.name}`: Istio defines no such annotation, so nothing reads it and the "
            f"setting it was meant to make has no effect.{hint}",
            fixes=[
                replace_scalar(ctx, entry.key, name, f"Did you mean `{name}`?", preferred=index == 0)
                for index, name in enumerate(suggestions)
            ],
        )


def suggest(entry: Written) -> list[str]:
    """Annotations Istio defines that the key may be a typo of, those for its kind of object first."""
    word = entry.name.replace(_DOT, _MASK)
    close = [name.replace(_MASK, _DOT) for name in close_matches(word, [n.replace(_DOT, _MASK) for n in ANNOTATIONS])]
    # a close key whose name part (after `/`) is unlike the one written is another annotation of the domain
    mine = entry.name.partition("/")[2]
    close = [name for name in close if _alike(mine, name.partition("/")[2])]
    close.sort(key=lambda name: not applies_to(ANNOTATIONS[name], entry))
    return close


def _alike(mine: str, theirs: str) -> bool:
    return mine.lower() == theirs.lower() or bool(close_matches(mine, [theirs]))


RULE = Rule(
    code="unknown-istio-annotation",
    severity=Severity.WARNING,
    summary="An annotation in an Istio domain (`*.istio.io/…`) that Istio does not define.",
    doc=DOC,
    local=check,
    istio_codes=("IST0108",),
)
