"""missing-required-field: a field the CRD schema requires is absent (or null)."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Finding, Rule, Severity
from istio_lsp.checks.local import DocumentContext
from istio_lsp.checks.schema import store, validate

DOC = """\
An object lacks a field its kind's CRD schema requires: a route entry without
`destination`, a destination without `host`, a `directResponse` without `status`, a
TLS route match without `sniHosts`, a ServiceEntry without `spec` or `hosts`. Also
reported: an object that needs one field of a group (`oneOf`/`anyOf` of required
fields) and sets none.

A required field written as null (`destination:` with nothing after it) counts as
missing: the API server drops null fields that are not nullable before it
validates.

Covers the CRD schema layer (checklist §9: required fields). The finding is on the
key of the incomplete object, or on the first line of a list item.

## Why it matters

The API server rejects the resource: `spec.http[0].route[0].destination: Required
value`.

## Wrong

```yaml
  http:
  - route:
    - weight: 100
```

## Right

```yaml
  http:
  - route:
    - destination:
        host: reviews
      weight: 100
```

## Fixes

Add the field with the intended value; no automatic fix, as the value cannot be guessed.
"""


def check(ctx: DocumentContext) -> Iterator[Finding]:
    yield from validate.findings(ctx, RULE)


RULE = Rule(
    code="missing-required-field",
    severity=Severity.ERROR,
    summary="A field the kind's CRD schema requires is missing or null: rejected by the API server.",
    doc=DOC,
    local=check,
    kinds=tuple(store.kinds()),
)
