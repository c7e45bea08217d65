"""timeout-shorter-than-retries: the route timeout ends the request before its retries can run."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.admission.common import as_int, format_duration, parse_duration
from istio_lsp.checks.base import Rule
from istio_lsp.checks.local import DocumentContext, quote_of
from istio_lsp.checks.routes._shared import routes
from istio_lsp.findings import Finding, Fix, Severity, TextEdit
from istio_lsp.syntax import ScalarNode
from istio_lsp.syntax.nodes import get, scalar

DEFAULT_ATTEMPTS = 2  # Istio's default retry policy when `attempts` is not set

DOC = """\
An HTTP route's `timeout` is shorter than `retries.attempts × retries.perTryTimeout`,
so when tries time out, the route timeout ends the request before the last retries
can even start.

`timeout` bounds the whole request, first try and retries included;
`perTryTimeout` bounds each try. Envoy starts retry *k* at the earliest after *k*
tries have timed out, that is after `k × perTryTimeout`. When that is past
`timeout`, the retry is never made: Envoy answers 504 (upstream request timeout)
instead. The check only runs when both `timeout` and `retries.perTryTimeout` are
set (without a route `timeout`, Istio sets none and retries are bounded by
`perTryTimeout` alone). A missing `retries.attempts` counts as Istio's default of
2; `attempts: 0` turns retries off and is not reported.

Not in the webhook checklist (both values are valid on their own); a semantic
check of this project.

## Why it matters

The retry policy promises a number of attempts that the timeout does not allow:
a slow backend gets fewer retries than configured, and the client sees a 504
where a retry might have succeeded. Usually the timeout was set for a single try
and the retries were added later, or the other way round.

## Wrong

```yaml
http:
- route:
  - destination: {host: ratings}
  timeout: 5s          # only the first retry can start
  retries:
    attempts: 3
    perTryTimeout: 3s  # 3 × 3s = 9s
```

## Right

```yaml
http:
- route:
  - destination: {host: ratings}
  timeout: 12s         # first try + 3 retries × 3s
  retries:
    attempts: 3
    perTryTimeout: 3s
```

## Fixes

- **Raise timeout to cover the retries**: sets `timeout` to
  `(attempts + 1) × perTryTimeout`, room for the first try and every retry. Not
  applied automatically, as it lets callers wait longer. Alternatively lower
  `attempts` or `perTryTimeout`.
"""


def check(ctx: DocumentContext) -> Iterator[Finding]:
    for route in routes(ctx, ("http",)):
        timeout_node = get(route.node, "timeout")
        timeout = _millis(scalar(timeout_node))
        retries = get(route.node, "retries")
        per_try = _millis(scalar(get(retries, "perTryTimeout")))
        if timeout is None or per_try is None or timeout <= 0 or per_try <= 0:
            continue  # no route timeout (Istio's default) or no per-try bound: nothing to compare
        attempts_text = scalar(get(retries, "attempts"))
        attempts = DEFAULT_ATTEMPTS if attempts_text is None else as_int(attempts_text)
        if attempts is None or attempts <= 0:
            continue
        needed = attempts * per_try
        if timeout >= needed:
            continue
        started = min(attempts, (timeout - 1) // per_try)
        default = " (Istio's default when `attempts` is not set)" if attempts_text is None else ""
        t, p = format_duration(timeout / 1000), format_duration(per_try / 1000)
        can = "no retry can start" if started == 0 else f"only {started} of the {attempts} retries can start"
        message = (
            f"`timeout: {t}` is shorter than {attempts} retries{default} × `perTryTimeout: {p}` = "
            f"{format_duration(needed / 1000)}: when tries time out, {can} before the route timeout "
            f"ends the request with 504, so the later retries are never made."
        )
        fixes = []
        if isinstance(timeout_node, ScalarNode):
            raised = format_duration((attempts + 1) * per_try / 1000)
            quote = quote_of(timeout_node)
            fixes.append(
                Fix(
                    f"Raise timeout to {raised} (first try + {attempts} retries × {p})",
                    (TextEdit(ctx.uri, ctx.node_span(timeout_node), f"{quote}{raised}{quote}"),),
                    preferred=True,
                    safe=False,
                )
            )
        yield ctx.finding(RULE.code, RULE.severity, f"{route.path}.timeout", message, fixes=fixes)


def _millis(text: str | None) -> int | None:
    seconds = parse_duration(text) if text is not None else None
    return None if seconds is None else round(seconds * 1000)


RULE = Rule(
    code="timeout-shorter-than-retries",
    severity=Severity.WARNING,
    summary="A route timeout is shorter than its retries' attempts × perTryTimeout: the later retries never run.",
    doc=DOC,
    local=check,
    kinds=("VirtualService",),
)
