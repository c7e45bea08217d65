"""invalid-labels: a label map (subset labels, sourceLabels, endpoint labels) with an invalid key or value."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.admission._generic import REJECTED, is_istio, rules_and_children
from istio_lsp.checks.admission.common import label_key_problem, label_value_problem
from istio_lsp.checks.base import Rule, Severity
from istio_lsp.checks.fields import unseen
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding
from istio_lsp.syntax import Node, ScalarNode
from istio_lsp.syntax.nodes import get, pairs, scalar

DOC = """\
A label map that Istio checks like Kubernetes labels holds an invalid key or value.

Covers the webhook checklist's "Label maps" row (§0) in each place it applies:

- DestinationRule `subsets[].labels` (§2);
- VirtualService `match[].sourceLabels` of http, tls and tcp rules (§1);
- ServiceEntry `endpoints[].labels` (§4).

Keys must be qualified names (`app`, `app.kubernetes.io/name`: an optional DNS prefix and
`/`, then at most 63 letters, digits, `-`, `_` and `.`, starting and ending alphanumeric);
values are empty or at most 63 such characters.

## Why it matters

The webhook rejects the resource, so `kubectl apply` fails. Such a value could never be a
pod label either, so the subset or match could never select anything.

## Wrong

```yaml
subsets:
- name: v2
  labels:
    version: "2.0 beta"
```

## Right

```yaml
  labels:
    version: 2.0-beta
```

Related: `istioctl analyze` IST0106.
"""


def _label_maps(ctx: DocumentContext) -> Iterator[tuple[str, Node | None]]:
    kind = ctx.resource.kind
    seen: set[int] = set()
    if kind == "DestinationRule":
        for _, subset in unseen(ctx.list_at("spec.subsets"), seen):
            yield "subset labels", get(subset, "labels")
    elif kind == "VirtualService":
        for _, _, match in rules_and_children(ctx, ("http", "tls", "tcp"), "match"):
            yield "sourceLabels", get(match, "sourceLabels")
    elif kind == "ServiceEntry":
        for _, endpoint in unseen(ctx.list_at("spec.endpoints"), seen):
            yield "endpoint labels", get(endpoint, "labels")


def check(ctx: DocumentContext) -> Iterator[Finding]:
    if not is_istio(ctx):
        return
    for what, labels in _label_maps(ctx):
        for key, value in pairs(labels):
            key_problem = label_key_problem(str(key.value))
            if key_problem:
                yield ctx.finding(RULE.code, RULE.severity, key, f"{what}: {key_problem}; {REJECTED}.")
                continue
            if not isinstance(value, ScalarNode):
                continue  # a list or map as a label value: a type error, reported by the schema checks
            value_problem = label_value_problem(scalar(value) or "")
            if value_problem:
                yield ctx.finding(RULE.code, RULE.severity, value, f"{what}: {value_problem}; {REJECTED}.")


RULE = Rule(
    code="invalid-labels",
    severity=Severity.ERROR,
    summary="Subset labels, sourceLabels or endpoint labels hold an invalid label key or value.",
    doc=DOC,
    local=check,
    kinds=("DestinationRule", "VirtualService", "ServiceEntry"),
    istio_codes=("IST0106",),
)
