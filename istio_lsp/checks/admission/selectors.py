"""invalid-selector and empty-selector: workload selectors the webhook rejects or warns about."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.admission._generic import ADMITTED, REJECTED, is_istio
from istio_lsp.checks.admission.common import selector_problems
from istio_lsp.checks.base import Rule, Severity
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding
from istio_lsp.syntax import MappingNode, Node
from istio_lsp.syntax.nodes import get, pairs, scalar

INVALID_DOC = """\
A workload selector uses a label key or value that Istio does not accept.

Covers the webhook checklist's workload selector rows (§0), for every kind that has one:

- `selector.matchLabels` of AuthorizationPolicy, PeerAuthentication and
  RequestAuthentication, and `workloadSelector.matchLabels` of DestinationRule;
- `workloadSelector.labels` of Sidecar and ServiceEntry (the older selector form);
- no label key may be empty, and neither keys nor values may contain `*`.

## Why it matters

Selectors match labels exactly: there is no wildcard. The webhook rejects the resource,
so `kubectl apply` fails. To select every workload of the namespace, leave the selector out.

## Wrong

```yaml
kind: AuthorizationPolicy
spec:
  selector:
    matchLabels:
      app: "reviews-*"
```

## Right

```yaml
  selector:
    matchLabels:
      app: reviews
```

Related: `istioctl analyze` IST0106.
"""

EMPTY_DOC = """\
A workload selector is present but lists no labels.

Covers the webhook checklist's "Workload selector present but with no labels" (§0), and
the older `workloadSelector.labels` form of Sidecar and ServiceEntry, where the webhook
says the resource "will be applied to all services in namespace".

## Why it matters

An empty selector selects every workload of the namespace (for a policy in the root
namespace, of the whole mesh), exactly as if it were left out. It usually means the
labels were forgotten or indented one level too far. The webhook admits the resource
with a warning.

## Wrong

```yaml
kind: PeerAuthentication
spec:
  selector:
    matchLabels: {}
  mtls:
    mode: STRICT
```

## Right

```yaml
  selector:
    matchLabels:
      app: payments
```

or drop `selector` when the policy is meant for the whole namespace.

Related: `istioctl analyze` IST0133.
"""

# kind → (path of the selector, name of its label map)
SELECTORS: dict[str, tuple[str, str]] = {
    "AuthorizationPolicy": ("spec.selector", "matchLabels"),
    "PeerAuthentication": ("spec.selector", "matchLabels"),
    "RequestAuthentication": ("spec.selector", "matchLabels"),
    "DestinationRule": ("spec.workloadSelector", "matchLabels"),
    "Sidecar": ("spec.workloadSelector", "labels"),
    "ServiceEntry": ("spec.workloadSelector", "labels"),
}


def _selector(ctx: DocumentContext) -> tuple[str, str, MappingNode] | None:
    where = SELECTORS.get(ctx.resource.kind)
    if where is None or not is_istio(ctx):
        return None
    path, field = where
    node = ctx.at(path)
    return (path, field, node) if isinstance(node, MappingNode) else None


def check_invalid(ctx: DocumentContext) -> Iterator[Finding]:
    found = _selector(ctx)
    if found is None:
        return
    _, field, node = found
    for key, value in pairs(get(node, field)):
        text = scalar(value) or ""
        for problem in selector_problems({str(key.value): text}):
            where: Node = key if (not key.value or "*" in str(key.value)) else value
            yield ctx.finding(INVALID.code, INVALID.severity, where, f"{problem}; {REJECTED}.")


def check_empty(ctx: DocumentContext) -> Iterator[Finding]:
    found = _selector(ctx)
    if found is None:
        return
    path, field, node = found
    if any(True for _ in pairs(get(node, field))):
        return
    name = path.rsplit(".", 1)[-1]
    scope = (
        "it applies to every workload of the namespace"
        if ctx.resource.kind in ("Sidecar", "ServiceEntry", "DestinationRule")
        else "it selects every workload of the namespace (the whole mesh in the root namespace)"
    )
    yield ctx.finding(
        EMPTY.code,
        EMPTY.severity,
        path,
        f"`{name}` has no `{field}`, so {scope}, as if it were left out; {ADMITTED}.",
        key=True,
    )


INVALID = Rule(
    code="invalid-selector",
    severity=Severity.ERROR,
    summary="A workload selector has an empty label key or a `*` in a key or value.",
    doc=INVALID_DOC,
    local=check_invalid,
    kinds=tuple(SELECTORS),
    istio_codes=("IST0106",),
)

EMPTY = Rule(
    code="empty-selector",
    severity=Severity.WARNING,
    summary="A workload selector is present but lists no labels, so it selects every workload.",
    doc=EMPTY_DOC,
    local=check_empty,
    kinds=tuple(SELECTORS),
    istio_codes=("IST0133",),
)

RULES = (INVALID, EMPTY)
