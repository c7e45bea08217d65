"""unknown-field: a field the CRD schema of the kind does not define."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Finding, Rule, Severity
from istio_lsp.checks.local import DocumentContext
from istio_lsp.checks.schema import validate

DOC = """\
A field of an Istio resource that its kind's schema (the CustomResourceDefinition
Istio installs, for the apiVersion used) does not define: usually a typo (`matchs`,
`destinaton`), a field at the wrong level (`timeout` inside `route`), or a field of
another version of Istio.

Covers the CRD schema layer (checklist §9: "Unknown fields are pruned, or rejected
under strict field validation") for `metadata` and everything under `spec`. Unknown
keys at the top level of the resource are reported by `invalid-metadata`; `status`
is not checked.

## Why it matters

The Kubernetes API server keeps only the fields the schema knows. `kubectl apply`
asks for strict field validation (its default since Kubernetes 1.25), so the whole
resource is rejected: `strict decoding error: unknown field "spec.http[0].matchs"`.
Clients that do not ask for it (Helm, Argo CD, most operators) get a warning at most,
and the field is **silently dropped**: a route meant for `/api` that loses its
`match` catches every request.

## Wrong

```yaml
apiVersion: networking.istio.io/v1
kind: VirtualService
spec:
  hosts: [reviews]
  http:
  - matchs:
    - uri: {prefix: /api}
    route:
    - destination: {host: reviews}
```

## Right

```yaml
  http:
  - match:
    - uri: {prefix: /api}
    route:
    - destination: {host: reviews}
```

## Fixes

- **Did you mean `x`?** renames the key to a field of the schema with a close name,
  keeping its value.
"""


def check(ctx: DocumentContext) -> Iterator[Finding]:
    yield from validate.findings(ctx, RULE)


RULE = Rule(
    code="unknown-field",
    severity=Severity.ERROR,
    summary="A field the kind's CRD schema does not define: rejected by kubectl apply, or silently dropped.",
    doc=DOC,
    local=check,
    # every kind of the schema bundles, Istio's and the Gateway API's: the schema is looked up by
    # (group, kind), so Istio's Gateway and the Gateway API's are each checked against their own
    kinds=(),
)
