"""invalid-enum-value: a value outside the set the CRD schema allows for the field."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Finding, Rule, Severity
from istio_lsp.checks.local import DocumentContext
from istio_lsp.checks.schema import validate

DOC = """\
A field whose schema lists its allowed values (an enum: TLS modes, load balancer
policies, ServiceEntry `resolution` and `location`, PeerAuthentication `mtls.mode`,
AuthorizationPolicy `action`, …) holds another value. Values are case-sensitive:
`strict` is not `STRICT`.

Covers the CRD schema layer (checklist §9: enums), including the enum-only fields
the webhook never looks at (§7: PeerAuthentication `mtls.mode`).

## Why it matters

The API server rejects the resource: `spec.mtls.mode: Unsupported value: "strict":
supported values: "UNSET", "DISABLE", "PERMISSIVE", "STRICT"`.

## Wrong

```yaml
apiVersion: security.istio.io/v1
kind: PeerAuthentication
spec:
  mtls:
    mode: strict
```

## Right

```yaml
  mtls:
    mode: STRICT
```

## Fixes

- **Change to `X`** for each allowed value, the closest first; the closest is the
  preferred fix when it is close to what was written.
"""


def check(ctx: DocumentContext) -> Iterator[Finding]:
    yield from validate.findings(ctx, RULE)


RULE = Rule(
    code="invalid-enum-value",
    severity=Severity.ERROR,
    summary="A value the field's enum does not allow: rejected by the API server.",
    doc=DOC,
    local=check,
    # every kind of the schema bundles, Istio's and the Gateway API's: the schema is looked up by
    # (group, kind), so Istio's Gateway and the Gateway API's are each checked against their own
    kinds=(),
)
