"""subset-without-labels: a DestinationRule subset without `labels`, which selects every endpoint of its host."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Rule
from istio_lsp.checks.fields import absent, as_mapping, count, is_set_at, text
from istio_lsp.checks.local import DocumentContext
from istio_lsp.checks.pods import yaml_scalar
from istio_lsp.findings import Finding, Fix, Severity, TextEdit
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import DestinationRule
from istio_lsp.syntax import MappingNode, Span
from istio_lsp.syntax.nodes import get, key_node

DOC = """\
A DestinationRule subset has no `labels` (or empty ones). A subset is the set of the
host's endpoints whose labels match; without labels it matches every endpoint, so it is
no subset at all: routing to it is routing to the whole host.

## Why it matters

That is legitimate in one case: to give all endpoints a traffic policy of their own
under a name (a route to subset `sticky` with consistent-hash load balancing, the others
without). Otherwise it is usually a subset whose labels were forgotten, and when other
subsets of the rule do have labels, the label-less one overlaps them: a split of 90% to
`stable` (no labels) and 10% to `canary` (`version: canary`) sends the canary pods
their 10% plus their share of the 90%.

## How sure it is

| situation | severity |
|---|---|
| another subset of the rule has labels: this one overlaps it | warning |
| no subset of the rule has labels, and this one sets no traffic policy: it is the host itself | information |
| no subset of the rule has labels, and this one sets a traffic policy: a policy under a name | hint |

`labels` that are not a mapping (a template placeholder) are not judged.

## Wrong

```yaml
kind: DestinationRule
spec:
  host: reviews
  subsets:
  - name: v1
  - name: v2
    labels: {version: v2}
```

## Right

```yaml
  subsets:
  - name: v1
    labels: {version: v1}
  - name: v2
    labels: {version: v2}
```

## Fixes

When every other subset has one label of the same key whose value is its name (`v2` with
`version: v2`), add that label for this subset's name (`version: v1`).

Related: Kiali KIA0209 (a warning, lowered to unknown when another subset has labels).
No `istioctl analyze` equivalent.
"""


def check(ctx: DocumentContext) -> Iterator[Finding]:
    if not isinstance(ctx.resource, DestinationRule):
        return
    subsets = [m for item in ctx.list_at("spec.subsets") if (m := as_mapping(item)) is not None]
    labelled = [m for m in subsets if count(get(m, "labels")) > 0]
    for subset in subsets:
        labels = get(subset, "labels")
        if not (absent(labels) or (isinstance(labels, MappingNode) and not labels.value)):
            continue  # labels, or something not read here (a placeholder)
        name = text(subset, "name") or ""
        where = get(subset, "name") or subset
        if labelled:
            others = ", ".join(f"`{text(m, 'name')}`" for m in labelled)
            yield ctx.finding(
                RULE.code,
                Severity.WARNING,
                where,
                f"Subset `{name}` has no labels, so it selects every endpoint of the host, the pods of subsets "
                f"{others} included: traffic routed to it reaches those pods too, on top of what is routed to them. "
                f"Give it labels that pick its own pods, or route to the host without a subset if every pod is meant.",
                fixes=_label_fix(ctx, subset, name, labelled),
            )
        elif is_set_at(subset, "trafficPolicy"):
            yield ctx.finding(
                RULE.code,
                Severity.HINT,
                where,
                f"Subset `{name}` has no labels, so it selects every endpoint of the host: it gives all of them its "
                f"traffic policy under a name. Fine if that is what it is for; else give it labels that pick its pods.",
            )
        else:
            yield ctx.finding(
                RULE.code,
                Severity.INFORMATION,
                where,
                f"Subset `{name}` has no labels and no traffic policy of its own, so it is the host itself: it "
                f"selects every endpoint, and routing to it is routing to the host. Give it labels that pick its "
                f"pods, or route to the host without a subset.",
            )


def _label_fix(ctx: DocumentContext, subset: MappingNode, name: str, labelled: list[MappingNode]) -> list[Fix]:
    """Add the label the other subsets are named after (`version: <name>`), when they all follow that pattern."""
    keys = set()
    for other in labelled:
        labels = as_mapping(get(other, "labels"))
        pairs = [(str(k.value), str(v.value)) for k, v in (labels.value if labels is not None else [])]
        if len(pairs) != 1 or pairs[0][1] != text(other, "name"):
            return []
        keys.add(pairs[0][0])
    name_key = key_node(subset, "name")
    name_value = get(subset, "name")
    if len(keys) != 1 or not name or is_placeholder(name) or name_key is None or name_value is None:
        return []
    if get(subset, "labels") is not None or key_node(subset, "labels") is not None:
        return []  # `labels:` written empty: leave its layout to the author
    key = next(iter(keys))
    end = ctx.doc.span_of(name_value)
    at = Span(end.end_line, end.end_char, end.end_line, end.end_char)
    label = f"{yaml_scalar(key)}: {yaml_scalar(name)}"
    if subset.flow_style:
        insert = f", labels: {{{label}}}"
    else:
        column = ctx.doc.span_of(name_key).start_char
        insert = f"\n{' ' * column}labels:\n{' ' * (column + 2)}{label}"
    return [Fix(f"Add label `{label}`", (TextEdit(ctx.uri, at, insert),))]


RULE = Rule(
    code="subset-without-labels",
    severity=Severity.WARNING,
    summary="A DestinationRule subset without labels: it selects every endpoint of the host.",
    doc=DOC,
    local=check,
    kinds=("DestinationRule",),
    kiali_codes=("KIA0209",),
)
