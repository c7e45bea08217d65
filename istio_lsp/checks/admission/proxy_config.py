"""ProxyConfig admission rule (`ValidateProxyConfig`): the workload selector and the concurrency."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.admission._generic import REJECTED
from istio_lsp.checks.admission._workloads import is_group, selector_findings, whole_number
from istio_lsp.checks.base import Rule
from istio_lsp.checks.local import DocumentContext, replace_scalar
from istio_lsp.findings import Finding, Severity
from istio_lsp.syntax import MappingNode
from istio_lsp.syntax.nodes import get

GROUP = "networking.istio.io"

DOC = """\
A ProxyConfig's workload selector or concurrency is one Istio's webhook rejects or
warns about.

What Istio's webhook checks (`ValidateProxyConfig`):

- `selector.matchLabels` has no empty key and no `*` in a key or value (selectors match
  exactly); a `selector` without labels is admitted with a warning;
- `concurrency` (the number of Envoy worker threads) is not negative: 0 means one
  thread per CPU core, and leaving it out keeps the mesh-wide default.

## Why it matters

`kubectl apply` fails, or, for a selector without labels, the ProxyConfig applies to
every workload of its namespace, which is rarely what a selector was written for.

## Wrong

```yaml
kind: ProxyConfig
spec:
  selector:
    matchLabels:
      app: "ratings-*"
  concurrency: -1
```

## Right

```yaml
spec:
  selector:
    matchLabels:
      app: ratings
  concurrency: 0
```

## Fixes

Name the workloads' labels exactly, and set `concurrency` to 0 (one worker per core) or
a positive number of workers.

Related: `istioctl analyze` IST0106 (SchemaValidationError).
"""


def check(ctx: DocumentContext) -> Iterator[Finding]:
    spec = ctx.spec
    if not is_group(ctx, GROUP) or not isinstance(spec, MappingNode):
        return
    yield from selector_findings(ctx, RULE.code, "ProxyConfig")
    node = get(spec, "concurrency")
    number = whole_number(node)
    if node is not None and number is not None and number < 0:
        yield ctx.finding(
            RULE.code,
            Severity.ERROR,
            node,
            f"`concurrency` is {number}, but the number of Envoy worker threads cannot be negative; use 0 for one "
            f"per CPU core; {REJECTED}.",
            fixes=[replace_scalar(ctx, node, "0", "Set concurrency to 0 (one worker per CPU core)")],
        )


RULE = Rule(
    code="invalid-proxy-config",
    severity=Severity.ERROR,
    summary="A ProxyConfig has a negative concurrency or a workload selector Istio rejects or warns about.",
    doc=DOC,
    local=check,
    kinds=("ProxyConfig",),
    istio_codes=("IST0106",),
)
