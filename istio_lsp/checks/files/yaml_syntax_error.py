"""yaml-syntax-error: a document that does not parse."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity
from istio_lsp.index import FileSummary

DOC = """\
A document of the file is not valid YAML, so nothing in it can be checked or
applied. `kubectl apply` rejects the whole file.

The diagnostic sits where the parser stopped. Only the broken document is
affected: every other `---`-separated document of the file is still parsed and
checked, so a half-typed document never hides the rest of the file.

## Wrong

```yaml
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews
```

## Right

```yaml
spec:
  hosts: [reviews]
```
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for problem in summary.syntax_errors:
        yield Finding(RULE.code, RULE.severity, problem.message, summary.uri, problem.span)


RULE = Rule(
    code="yaml-syntax-error",
    severity=Severity.ERROR,
    summary="A document that does not parse as YAML.",
    doc=DOC,
    run=run,
)
