"""missing-route-rules: a VirtualService with no http, tls or tcp route (or a null http route)."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.admission._generic import REJECTED, is_istio
from istio_lsp.checks.base import Rule, Severity
from istio_lsp.checks.fields import absent, unseen
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding

DOC = """\
A VirtualService has no routes: none of `http`, `tls` or `tcp` holds a rule, or an `http`
entry is empty.

Covers these rows of the webhook checklist (§1, top level):

- at least one of `http`, `tcp` or `tls` must be present and non-empty;
- an `http[]` entry may not be null (a stray `-` with nothing after it).

## Why it matters

The webhook rejects the resource, so `kubectl apply` fails. A VirtualService without
routes would route nothing; usually the routes were indented under the wrong key, or the
file was cut short.

## Wrong

```yaml
kind: VirtualService
spec:
  hosts: [reviews]
  route:                 # not under `http`
  - destination: {host: reviews}
```

## Right

```yaml
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
```

Related: `istioctl analyze` IST0106.
"""


def check(ctx: DocumentContext) -> Iterator[Finding]:
    if not is_istio(ctx):
        return
    if not any(ctx.list_at(f"spec.{protocol}") for protocol in ("http", "tls", "tcp")):
        yield ctx.finding(
            RULE.code,
            RULE.severity,
            "spec",
            f"The VirtualService has no routes: set at least one of `http`, `tls` or `tcp`; {REJECTED}.",
            key=True,
        )
        return
    for index, rule in unseen(ctx.list_at("spec.http"), set()):
        if absent(rule):
            yield ctx.finding(
                RULE.code,
                RULE.severity,
                f"spec.http[{index}]",
                f"`http` entry {index} is empty (null); {REJECTED}.",
            )


RULE = Rule(
    code="missing-route-rules",
    severity=Severity.ERROR,
    summary="A VirtualService has no http, tls or tcp route, or an http route entry is null.",
    doc=DOC,
    local=check,
    kinds=("VirtualService",),
    istio_codes=("IST0106",),
)
