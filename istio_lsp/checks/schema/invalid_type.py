"""invalid-type: a value of the wrong type for its field, or conflicting fields of a one-of group."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Finding, Rule, Severity
from istio_lsp.checks.local import DocumentContext
from istio_lsp.checks.schema import validate

DOC = """\
A value whose type is not the one the kind's CRD schema gives its field: a string
where an integer is required, a list where an object is, a single value where a list
is. Also reported under this code: an object that sets more than one field of a
group where the schema allows only one (a `oneOf`), such as `exact` and `prefix` in
the same StringMatch, or `httpHeaderName` and `useSourceIp` in one `consistentHash`.

Covers the CRD schema layer (checklist §9: types and `oneOf` rules) for `metadata`
and everything under `spec`.

## How values are typed

As Kubernetes reads YAML (YAML 1.1 through go-yaml, then JSON): quoted and block
scalars are strings; unquoted ones are booleans when they are `true`/`false`,
`yes`/`no`, `on`/`off` or `y`/`n` (any of their usual capitalisations), numbers when
they look like numbers (`80`, `0x50`, `1.5`, `1e3`), null when they are `null`, `~`
or empty. `80.0` is an integer: JSON carries it as `80`. A field marked
int-or-string takes integers and strings; nullable fields take null. Null values of
other fields are dropped by the API server before validation (see
`missing-required-field`), so they are not reported here, except as items of lists
of scalars.

## Why it matters

The API server rejects the resource (`spec.http[0].timeout: Invalid value:
"integer": ... must be of type string`); with several one-of fields set it answers
`must validate one and only one schema (oneOf)`. Label and annotation values are
strings too: `version: 1` or `sidecar.istio.io/inject: false` in `metadata` is
rejected.

## Wrong

```yaml
spec:
  hosts: reviews              # a list is expected
  http:
  - match:
    - uri: {exact: /a, prefix: /b}   # only one of exact, prefix, regex
    route:
    - destination:
        host: reviews
        port: {number: "9080"}        # an integer is expected
```

## Right

```yaml
spec:
  hosts: [reviews]
  http:
  - match:
    - uri: {prefix: /b}
    route:
    - destination:
        host: reviews
        port: {number: 9080}
```

## Fixes

- **Quote `x`** where a string is expected and an unquoted value reads as another type.
- **Remove the quotes** where a quoted value is an integer, number or boolean as
  expected.
- **Make it a one-item list** where a list is expected and a single value was written.
"""


def check(ctx: DocumentContext) -> Iterator[Finding]:
    yield from validate.findings(ctx, RULE)


RULE = Rule(
    code="invalid-type",
    severity=Severity.ERROR,
    summary="A value of the wrong type for its field, or several fields of a one-of group: rejected by the API server.",
    doc=DOC,
    local=check,
    # every kind of the schema bundles, Istio's and the Gateway API's: the schema is looked up by
    # (group, kind), so Istio's Gateway and the Gateway API's are each checked against their own
    kinds=(),
)
