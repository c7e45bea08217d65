"""invalid-export-to: an `exportTo` list the webhook rejects."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from istio_lsp.checks.admission._generic import REJECTED, is_istio
from istio_lsp.checks.admission.common import dns1123_label_problem, export_to_problems
from istio_lsp.checks.base import Rule, Severity
from istio_lsp.checks.fields import scalar_items
from istio_lsp.checks.local import DocumentContext, replace_scalar
from istio_lsp.findings import Finding
from istio_lsp.syntax import Node
from istio_lsp.syntax.nodes import scalar

DOC = """\
An `exportTo` list of a VirtualService, DestinationRule or ServiceEntry holds an entry
Istio does not accept.

Covers the `exportTo` row of the webhook checklist (§0, and §1/§2/§4 where each kind
applies it):

- each entry is `.` (the resource's own namespace), `*` (every namespace) or a namespace
  name (a DNS-1123 label);
- `~` (visible to no namespace) is only allowed in ServiceEntries;
- no entry twice; `.` and the resource's own namespace count as the same entry;
- `*` cannot be combined with other entries, and neither can `~`.

Istio's namespace check ignores case, so an entry with capitals (`Shop`) is admitted; it
is reported as a warning, because namespace names are lowercase and it exports to nothing.

## Why it matters

The webhook rejects the resource, so `kubectl apply` fails. A namespace written with
capitals or underscores (`Team_A`) can never match a namespace, and `*` next to other
entries suggests the list does not say what its author thought.

## Wrong

```yaml
kind: VirtualService
metadata:
  namespace: shop
spec:
  exportTo: [".", "shop", "*"]
```

## Right

```yaml
  exportTo: ["*"]          # or [".", "frontend"]
```

Related: `istioctl analyze` IST0106.
"""

_TICKED = re.compile(r"`([^`]*)`")


def check(ctx: DocumentContext) -> Iterator[Finding]:
    if not is_istio(ctx):
        return
    listed = list(scalar_items(ctx.at("spec.exportTo")))
    if not listed:
        return
    entries = [text for _, _, text in listed]
    namespace = ctx.resource.namespace
    allow_none = ctx.resource.kind == "ServiceEntry"
    for problem in export_to_problems(entries, namespace, allow_none):
        node = _entry_for(problem, listed, namespace)
        where: Node | str = node if node is not None else "spec.exportTo"
        entry = scalar(node) if node is not None else None
        if entry is not None and "is not `.`" in problem and dns1123_label_problem(entry.lower()) is None:
            # Istio's own DNS-1123 check ignores case: admitted, but no namespace is named so
            yield ctx.finding(
                RULE.code,
                Severity.WARNING,
                where,
                f"exportTo entry `{entry}` has upper-case letters, and namespace names are lowercase; "
                f"the webhook admits it, but it exports to no namespace.",
                fixes=[replace_scalar(ctx, node, entry.lower(), f"Use `{entry.lower()}`")] if node else [],
            )
            continue
        yield ctx.finding(RULE.code, RULE.severity, where, f"{problem}; {REJECTED}.")


def _entry_for(problem: str, listed: Sequence[tuple[int, Node, str]], namespace: str) -> Node | None:
    """The entry a problem is about: the repeated one for duplicates, else the one it names."""
    ticked = _TICKED.search(problem)
    if ticked is None:
        return None
    named = ticked.group(1)
    if "twice" in problem:
        seen: set[str] = set()
        for _, node, text in listed:
            normal = namespace if text == "." else text
            if normal in seen and (text == named or normal == named):
                return node
            seen.add(normal)
        return None
    return next((node for _, node, text in listed if text == named), None)


RULE = Rule(
    code="invalid-export-to",
    severity=Severity.ERROR,
    summary="An exportTo entry is not `.`, `*` or a namespace, is repeated, or is combined with `*`/`~`.",
    doc=DOC,
    local=check,
    kinds=("VirtualService", "DestinationRule", "ServiceEntry"),
    istio_codes=("IST0106",),
)
