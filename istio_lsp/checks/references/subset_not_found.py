"""subset-not-found: DestinationRules exist for the host, but none defines the subset."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import (
    Context,
    Finding,
    Fix,
    Rule,
    Severity,
    TextEdit,
    close_matches,
    related_to,
    replace_fixes,
)
from istio_lsp.index import FileSummary
from istio_lsp.index.resolve import destination_rules_for_route, labels_for_subset, resolve_host, services_for_rule
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import DestinationRule, VirtualService
from istio_lsp.syntax import Span

DOC = """\
A route or mirror destination names a `subset` that none of the DestinationRules
for its host defines.

## Why it matters

Envoy builds one cluster per subset a DestinationRule defines. A route to an
undefined subset points at a cluster that does not exist: requests fail with 503
(`cluster_not_found`, response flag NC). It usually is a typo (`v1` vs `V1`), a
subset renamed in the DestinationRule but not in the routes, or a new version
rolled out in the VirtualService before its subset was added.

## Wrong

```yaml
kind: DestinationRule
spec:
  host: reviews
  subsets:
  - name: v1
    labels: {version: v1}
---
kind: VirtualService
spec:
  http:
  - route:
    - destination: {host: reviews, subset: v2}
```

## Right

Add the subset to the DestinationRule, or route to a subset it defines.

## Fixes

- **Did you mean `x`?** for defined subsets with a close name.
- **Add subset `x` to `<DestinationRule>`**: appends the subset to the
  DestinationRule, with labels taken from the workloads behind the Service when a
  label (such as `version`) carries the subset's name.

Related: `istioctl analyze` IST0101 ReferencedResourceNotFound; Kiali KIA1107.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for vs in summary.resources:
        if not isinstance(vs, VirtualService):
            continue
        for dest in vs.destinations:
            if dest.subset is None or is_placeholder(dest.subset.value):
                continue
            resolution = resolve_host(ctx.index, dest.host.value, vs)
            if resolution.unknown:
                continue
            rules = destination_rules_for_route(ctx.index, resolution.candidates, resolution.consumers).visible
            if not rules:
                continue  # subset-without-destinationrule's case
            defined = list(dict.fromkeys(s.name.value for rule in rules for s in rule.subsets))
            if dest.subset.value in defined:
                continue
            names = ", ".join(r.display for r in rules)
            listing = ", ".join(f"`{n}`" for n in defined) if defined else "none"
            message = (
                f"Subset `{dest.subset.value}` is not defined by {names} (defines {listing}); "
                f"Envoy has no such subset and answers 503."
            )
            fixes = list(replace_fixes(vs.uri, dest.subset, close_matches(dest.subset.value, defined)))
            fixes += [f for f in (_add_subset_fix(ctx, rule, dest.subset.value) for rule in rules) if f is not None]
            yield ctx.finding(
                RULE,
                vs,
                dest.subset.span,
                message,
                related=[related_to(r, f"DestinationRule for `{dest.host.value}`") for r in rules],
                fixes=fixes,
            )


def _add_subset_fix(ctx: Context, rule: DestinationRule, subset: str) -> Fix | None:
    if rule.insert_after is None:
        return None
    labels = labels_for_subset(ctx.index, services_for_rule(ctx.index, rule), subset)
    label_lines = (
        [f"{k}: {v}" for k, v in labels.items()]
        if labels
        else [f"version: {subset}  # TODO: labels that select only the pods of subset {subset}"]
    )
    if rule.subset_indent is None:
        indent = rule.spec_indent
        lines = [f"{' ' * indent}subsets:"]
    else:
        indent = rule.subset_indent
        lines = []
    lines += [f"{' ' * indent}- name: {subset}", f"{' ' * (indent + 2)}labels:"]
    lines += [f"{' ' * (indent + 4)}{line}" for line in label_lines]
    line, char = rule.insert_after
    return Fix(
        f"Add subset `{subset}` to {rule.display}",
        (TextEdit(rule.uri, Span(line, char, line, char), "\n" + "\n".join(lines)),),
    )


RULE = Rule(
    code="subset-not-found",
    severity=Severity.ERROR,
    summary="A destination names a subset that the host's DestinationRules do not define.",
    doc=DOC,
    run=run,
    istio_codes=("IST0101",),
    kiali_codes=("KIA1107",),
)
