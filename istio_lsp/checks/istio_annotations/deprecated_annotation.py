"""deprecated-istio-annotation: an Istio annotation that Istio has deprecated."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Rule, Severity
from istio_lsp.checks.fields import mapping_at
from istio_lsp.checks.istio_annotations._annotations import Written, applies_to, written
from istio_lsp.checks.istio_annotations._moves import move_fix
from istio_lsp.checks.local import DocumentContext, replace_scalar
from istio_lsp.findings import Finding, Fix
from istio_lsp.syntax.nodes import get

DOC = """\
An annotation that Istio's registry marks deprecated, on any resource or pod template.
The message names what replaces it where there is a replacement: the
`sidecar.istio.io/inject` *label* for the annotation of the same name,
`istio.io/reroute-virtual-interfaces` for `traffic.sidecar.istio.io/kubevirtInterfaces`,
and fields of the pod's proxy configuration (`proxy.istio.io/config`) for the
`sidecar.istio.io/stats…` and `discoveryAddress` annotations.

The `sidecar.istio.io/inject` annotation is not reported when the label is set beside
it: keeping both for older Istio versions is deliberate.

## Why it matters

A deprecated annotation still works for now, but may be ignored or removed in a later
Istio release, silently: the API server accepts any annotation.

## Wrong

```yaml
spec:
  template:
    metadata:
      annotations:
        sidecar.istio.io/inject: "false"
```

## Right

```yaml
spec:
  template:
    metadata:
      labels:
        sidecar.istio.io/inject: "false"
```

## Fixes

- **Use the `sidecar.istio.io/inject` label**: moves the annotation's line into the
  labels beside it (offered when both are written in block style).
- **Rename to `istio.io/reroute-virtual-interfaces`**: for `kubevirtInterfaces`.

Corresponds to `istioctl analyze` IST0135 (DeprecatedAnnotation).
"""

_INJECT = "sidecar.istio.io/inject"
_PROXY_CONFIG = "the pod's proxy configuration (`proxy.istio.io/config`)"
# what Istio's ProxyConfig offers instead (mesh/v1alpha1/proxy.proto, release notes)
_IN_PROXY_CONFIG = {
    "sidecar.istio.io/discoveryAddress": f"`discoveryAddress` in {_PROXY_CONFIG}",
    "sidecar.istio.io/statsInclusionPrefixes": f"`proxyStatsMatcher.inclusionPrefixes` in {_PROXY_CONFIG}",
    "sidecar.istio.io/statsInclusionSuffixes": f"`proxyStatsMatcher.inclusionSuffixes` in {_PROXY_CONFIG}",
    "sidecar.istio.io/statsInclusionRegexps": f"`proxyStatsMatcher.inclusionRegexps` in {_PROXY_CONFIG}",
    "sidecar.istio.io/statsCompression": f"`statsCompression` in {_PROXY_CONFIG}",
}
_NO_LONGER_NEEDED = {
    "sidecar.istio.io/extraStatTags": "Istio's stats filter is native now and needs no list of extra tags",
}


def check(ctx: DocumentContext) -> Iterator[Finding]:
    for entry in written(ctx):
        definition = entry.definition
        if definition is None or not definition.deprecated:
            continue
        if entry.name == _INJECT and get(mapping_at(entry.metadata, "labels"), _INJECT) is not None:
            continue  # both, on purpose: the label wins, the annotation serves older versions
        fixes: list[Fix] = []
        if definition.replacement_is_label:
            instead = f" in favour of the `{definition.replacement}` label (in `metadata.labels`)"
            if applies_to(definition, entry):
                fix = move_fix(ctx, entry, entry.metadata, "labels", f"Use the `{definition.replacement}` label")
                fixes = [fix] if fix is not None else []
        elif definition.replacement:
            instead = f" in favour of `{definition.replacement}`"
            fixes = _rename(ctx, entry, definition.replacement)
        elif entry.name in _IN_PROXY_CONFIG:
            instead = f" in favour of {_IN_PROXY_CONFIG[entry.name]}"
        elif entry.name in _NO_LONGER_NEEDED:
            instead = f" ({_NO_LONGER_NEEDED[entry.name]})"
        else:
            instead = " with no replacement"
        yield ctx.finding(
            RULE.code,
            RULE.severity,
            entry.key,
            f"Annotation `{entry.name}` is deprecated{instead}; it may be ignored or removed in a later "
            "Istio release without any error.",
            fixes=fixes,
        )


def _rename(ctx: DocumentContext, entry: Written, replacement: str) -> list[Fix]:
    if get(get(entry.metadata, "annotations"), replacement) is not None:
        return []  # both written: the newer one wins already
    return [replace_scalar(ctx, entry.key, replacement, f"Rename to `{replacement}`", safe=False)]


RULE = Rule(
    code="deprecated-istio-annotation",
    severity=Severity.INFORMATION,
    summary="An Istio annotation Istio has deprecated (the replacement is named where there is one).",
    doc=DOC,
    local=check,
    istio_codes=("IST0135",),
)
