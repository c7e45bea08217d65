"""invalid-mirror: traffic mirroring settings Istio rejects or warns about."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.admission._vs_routes import REJECTED, destination_problems, gateway_semantics, spec_routes
from istio_lsp.checks.base import Rule
from istio_lsp.checks.fields import absent, distinct, items_at, mapping_at
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding, Severity
from istio_lsp.syntax import MappingNode

DOC = """\
A `mirror` or `mirrors` destination that Istio's webhook rejects.

Covers these rows of the webhook checklist (HTTP route):

- the `mirror` destination: host `*` or not a valid (wildcard) host name, subset
  name not a DNS-1123 label (errors);
- `mirrors[]`: a null entry, or an invalid destination as above (errors).

Ports are checked by `invalid-port`; `mirrorPercentage`, `mirrors[].percentage` and
the deprecated `mirrorPercent` by `invalid-percentage`; `mirror` together with
`mirrors` is `conflicting-route-actions`; a `mirrors` entry without `destination` is
`missing-required-field` (the API server's schema rejects it before the webhook).

## Why it matters

An invalid mirror makes the webhook reject the whole VirtualService: the copy of
the traffic has to go to one real service (a `*` host names none).

## Wrong

```yaml
http:
- route:
  - destination: {host: reviews, subset: v1}
  mirror:
    host: "*"
  mirrors:
  - destination: {host: reviews, subset: v1.1}   # not a DNS label
```

## Right

```yaml
http:
- route:
  - destination: {host: reviews, subset: v1}
  mirrors:
  - destination:
      host: reviews
      subset: v2
    percentage: {value: 5}
```

Related: `istioctl analyze` IST0106 (schema validation error).
"""


def check(ctx: DocumentContext) -> Iterator[Finding]:
    check_hosts = not gateway_semantics(ctx)
    for _, rule in spec_routes(ctx, "http"):
        mirror = mapping_at(rule, "mirror")
        if mirror is not None and check_hosts:
            for node, message in destination_problems(mirror, "Mirror"):
                yield ctx.finding(RULE.code, RULE.severity, node, message)
        for entry in distinct(items_at(rule, "mirrors")):
            if absent(entry):
                yield ctx.finding(RULE.code, RULE.severity, entry, f"A `mirrors` entry is empty (null). {REJECTED}.")
                continue
            if not isinstance(entry, MappingNode):
                continue
            # a missing `destination` is reported by missing-required-field (the API server's schema)
            destination = mapping_at(entry, "destination")
            if destination is not None and check_hosts:
                for node, message in destination_problems(destination, "Mirror"):
                    yield ctx.finding(RULE.code, RULE.severity, node, message)


RULE = Rule(
    code="invalid-mirror",
    severity=Severity.ERROR,
    summary="A mirror destination Istio rejects: host `*`, an invalid host or subset, a null `mirrors` entry.",
    doc=DOC,
    local=check,
    kinds=("VirtualService",),
    istio_codes=("IST0106",),
)
