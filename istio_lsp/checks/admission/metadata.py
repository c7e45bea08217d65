"""invalid-metadata: top-level fields and annotations that Istio's webhook rejects."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.admission._generic import ISTIO_KINDS, REJECTED, is_istio
from istio_lsp.checks.base import Rule, Severity, close_matches
from istio_lsp.checks.local import DocumentContext, replace_scalar
from istio_lsp.findings import Finding, Fix
from istio_lsp.syntax import ScalarNode
from istio_lsp.syntax.nodes import pairs, scalar

DOC = """\
A resource has a top-level field, or an annotation, that Istio's webhook refuses.

Covers these rows of the webhook checklist (§0), for every Istio kind:

- top-level keys other than `apiVersion`, `kind`, `metadata`, `spec` and `status` are
  rejected as unknown fields (a field that belongs under `spec`, or a misspelt `spec`);
- the annotation `istio.io/dry-run` is only allowed on AuthorizationPolicy, only with
  action `ALLOW` or `DENY` (ALLOW is the default), and its value must be a boolean
  (`true`/`false`, as Go reads them: also `1`, `0`, `t`, `f`, `TRUE`, `False`…);
- the internal annotations `internal.istio.io/webhook-always-reject`,
  `internal.istio.io/parents` and `internal.istio.io/parent-namespace` are refused: Istio
  sets them itself on the objects it generates.

## Why it matters

The webhook rejects the resource, so `kubectl apply` fails. A field placed at the top
level instead of under `spec` (for example `hosts:` indented one level too little) would
otherwise be silently lost.

## Wrong

```yaml
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
  annotations:
    istio.io/dry-run: "true"
hosts: [reviews]
spec:
  http:
  - route:
    - destination: {host: reviews}
```

## Right

```yaml
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
```

## Fixes

- **Did you mean `spec`?**: renames a misspelt top-level key.
- **Use `"true"`/`"false"`**: for a dry-run value written as `yes`, `on`, `no`, `off`.

Related: `istioctl analyze` IST0106.
"""

TOP_LEVEL = ("apiVersion", "kind", "metadata", "spec", "status")
DRY_RUN = "istio.io/dry-run"
INTERNAL = (
    "internal.istio.io/webhook-always-reject",
    "internal.istio.io/parents",
    "internal.istio.io/parent-namespace",
)
GO_BOOLS = {"1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"}
_YAML_BOOLS = {"yes": "true", "y": "true", "on": "true", "no": "false", "n": "false", "off": "false"}


def check(ctx: DocumentContext) -> Iterator[Finding]:
    if not is_istio(ctx):
        return
    for key, _ in pairs(ctx.node):
        name = str(key.value)
        if name in TOP_LEVEL:
            continue
        fixes = [
            replace_scalar(ctx, key, suggestion, f"Did you mean `{suggestion}`?", preferred=index == 0)
            for index, suggestion in enumerate(close_matches(name, TOP_LEVEL))
        ]
        yield ctx.finding(
            RULE.code,
            RULE.severity,
            key,
            f"Unknown top-level field `{name}` (only apiVersion, kind, metadata, spec and status are allowed; "
            f"fields of the resource go under `spec`); {REJECTED}.",
            fixes=fixes,
        )
    for key, value in pairs(ctx.at("metadata.annotations")):
        name = str(key.value)
        if name in INTERNAL:
            yield ctx.finding(
                RULE.code,
                RULE.severity,
                key,
                f"Annotation `{name}` is internal to Istio and may not be set by users; {REJECTED}.",
            )
        elif name == DRY_RUN:
            yield from _dry_run(ctx, key, value)


def _dry_run(ctx: DocumentContext, key: ScalarNode, value: object) -> Iterator[Finding]:
    kind = ctx.resource.kind
    if kind != "AuthorizationPolicy":
        yield ctx.finding(
            RULE.code,
            RULE.severity,
            key,
            f"Annotation `{DRY_RUN}` is only supported on AuthorizationPolicy, not on {kind}; {REJECTED}.",
        )
        return
    action = ctx.text("spec.action") or "ALLOW"
    if action not in ("ALLOW", "DENY"):
        yield ctx.finding(
            RULE.code,
            RULE.severity,
            key,
            f"Annotation `{DRY_RUN}` only works with action ALLOW or DENY, not {action}; {REJECTED}.",
        )
        return
    if not isinstance(value, ScalarNode):
        return
    text = scalar(value) or ""
    if text in GO_BOOLS:
        return
    fixes: list[Fix] = []
    meant = _YAML_BOOLS.get(text.lower())
    if meant is not None:
        fixes.append(replace_scalar(ctx, value, f'"{meant}"' if not value.style else meant, f'Use "{meant}"'))
    yield ctx.finding(
        RULE.code,
        RULE.severity,
        value,
        f"Annotation `{DRY_RUN}` must be `true` or `false`, not `{text}`; {REJECTED}.",
        fixes=fixes,
    )


RULE = Rule(
    code="invalid-metadata",
    severity=Severity.ERROR,
    summary="An unknown top-level field, or an annotation the webhook refuses (dry-run misuse, internal ones).",
    doc=DOC,
    local=check,
    kinds=ISTIO_KINDS,
    istio_codes=("IST0106",),
)
