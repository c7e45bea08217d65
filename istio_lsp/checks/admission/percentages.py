"""invalid-percentage: a percentage outside its range, and the deprecated `mirrorPercent`."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.admission._generic import (
    ADMITTED,
    REJECTED,
    Pattern,
    is_istio,
    key_and_value_span,
    matching_scalars,
    names,
)
from istio_lsp.checks.admission.common import as_float, as_int, fraction_percent_problem, percent_problem
from istio_lsp.checks.base import Rule, Severity
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding, Fix, TextEdit
from istio_lsp.syntax import ScalarNode
from istio_lsp.syntax.nodes import key_node, scalar

DOC = """\
A percentage is outside the range Istio accepts, or uses the deprecated `mirrorPercent`.

Covers these rows of the webhook checklist:

- §0 "`Percent` double": a fault `abort.percentage.value` or `delay.percentage.value` must
  be 0 or between 0.0001 and 100;
- §1: `mirrorPercentage.value` and `mirrors[].percentage.value` must be within 0..100;
- §1: the deprecated integer `mirrorPercent` (also spelled `mirror_percent`) above 100 is
  an error, and any use of it is a warning ("use mirrorPercentage");
- §0 "Percent (int32 fields)" and §2: DestinationRule `outlierDetection.maxEjectionPercent`
  and `minHealthPercent` must be within 0..100; so must `loadBalancer.warmup.minimumPercent`
  and `retryBudget.percent` (enforced by the CRD schema).

## Why it matters

An out-of-range percentage makes `kubectl apply` fail. A fault at `percentage: 150` was
meant to be `100` (or `15`); the tiny non-zero values below 0.0001 cannot be represented
by Envoy's fractional percent and are rejected too. `mirrorPercent` is an integer, so
it cannot mirror less than 1% of the traffic; `mirrorPercentage` can.

## Wrong

```yaml
http:
- fault:
    abort:
      httpStatus: 503
      percentage:
        value: 150
  mirror: {host: reviews-shadow}
  mirrorPercent: 10
```

## Right

```yaml
      percentage:
        value: 15
  mirror: {host: reviews-shadow}
  mirrorPercentage:
    value: 10
```

## Fixes

- **Use `mirrorPercentage`**: rewrites `mirrorPercent: 10` as `mirrorPercentage: {value: 10}`.

Related: `istioctl analyze` IST0106 (errors) and IST0133 (the deprecation warning).
"""

FIELDS: dict[str, tuple[tuple[Pattern, str], ...]] = {
    "VirtualService": (
        (("abort", "percentage", "value"), "fraction"),
        (("delay", "percentage", "value"), "fraction"),
        (("mirrorPercentage", "value"), "double"),
        (("mirrors", "percentage", "value"), "double"),
        (("http", "mirrorPercent"), "mirror-percent"),
        (("http", "mirror_percent"), "mirror-percent"),
    ),
    "DestinationRule": (
        (("outlierDetection", "maxEjectionPercent"), "int"),
        (("outlierDetection", "minHealthPercent"), "int"),
        (("warmup", "minimumPercent"), "double"),
        (("retryBudget", "percent"), "double"),
    ),
}


def problem_for(text: str, mode: str) -> str | None:
    if mode == "fraction":
        return fraction_percent_problem(text)
    if mode == "int":
        return percent_problem(text)
    number = as_float(text)
    if number is not None and not 0 <= number <= 100:
        return f"percentage `{text}` is not within 0 to 100"
    return None


def check(ctx: DocumentContext) -> Iterator[Finding]:
    patterns = FIELDS.get(ctx.resource.kind)
    if not patterns or not is_istio(ctx):
        return
    for path, node, mode in matching_scalars(ctx, patterns):
        field_names = names(path)
        text = scalar(node)
        if text is None or as_float(text) is None:
            continue  # not a number: a type error, reported by the schema checks
        if mode == "int" and as_int(text) is None:
            continue
        label = ".".join(field_names[-2:])
        if mode == "mirror-percent":
            yield from _mirror_percent(ctx, path, node, text)
            continue
        problem = problem_for(text, mode)
        if problem:
            yield ctx.finding(RULE.code, RULE.severity, node, f"`{label}`: {problem}; {REJECTED}.")


def _mirror_percent(ctx: DocumentContext, path: list, node: ScalarNode, text: str) -> Iterator[Finding]:
    field = str(path[-1])
    number = as_float(text) or 0.0
    if number > 100:
        yield ctx.finding(
            RULE.code,
            RULE.severity,
            node,
            f"`{field}: {text}` is above 100; {REJECTED}.",
        )
    fixes: list[Fix] = []
    key = key_node(ctx.at(path[:-1]), field)
    if key is not None and ctx.at([*path[:-1], "mirrorPercentage"]) is None:
        edit = TextEdit(ctx.uri, key_and_value_span(ctx, key, node), f"mirrorPercentage: {{value: {text}}}")
        fixes.append(Fix("Use `mirrorPercentage`", (edit,), preferred=True))
    yield ctx.finding(
        RULE.code,
        Severity.WARNING,
        key if key is not None else node,
        f"`{field}` is deprecated; {ADMITTED}. Use `mirrorPercentage: {{value: {text}}}`, "
        f"which also allows fractions of a percent.",
        fixes=fixes,
    )


RULE = Rule(
    code="invalid-percentage",
    severity=Severity.ERROR,
    summary="A fault, mirror or outlier-detection percentage is out of range, or `mirrorPercent` is used.",
    doc=DOC,
    local=check,
    kinds=("VirtualService", "DestinationRule"),
    istio_codes=("IST0106", "IST0133"),
)
