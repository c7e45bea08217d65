"""missing-required-field: a field the CRD schema requires is absent (or null)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from istio_lsp.checks.base import Finding, Rule, Severity
from istio_lsp.checks.local import DocumentContext
from istio_lsp.checks.schema import validate
from istio_lsp.settings import Settings

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

## Fields another rule reports

Some required fields are also checked by the rule of their kind, which says what the
field is for and also catches an empty value. For those this rule stays quiet, so one
missing field gives one diagnostic; when that rule is turned off (`disabledRules`, or
severity `off`), this rule reports the field again. (`*` stands for any path: a traffic
policy sits at several depths.)

{owned}
"""

# Required fields a kind rule (checks/admission/) also reports, absent or null: that rule owns them, as
# its message says what the field is for and it also catches empty values, so one rule speaks for the
# field in every state. Naming the owner lets turning it off hand the field back to this rule.
# `*` is any path prefix; tests/admission/test_required_owners.py checks every entry.
OWNED_BY_KIND_RULES: dict[str, dict[str, str]] = {
    "DestinationRule": {
        "spec.host": "invalid-destinationrule-host",
        "spec.subsets[].name": "invalid-subset",
        "*.loadBalancer.consistentHash.httpCookie.name": "invalid-load-balancer",
        "*.loadBalancer.consistentHash.httpCookie.attributes[].name": "invalid-load-balancer",
        "*.loadBalancer.warmup.duration": "invalid-warmup",
        "*.tunnel.targetHost": "invalid-traffic-policy",
        "*.tunnel.targetPort": "invalid-traffic-policy",
    },
    "Gateway": {
        "spec.servers[].hosts": "invalid-gateway-server",
        "spec.servers[].port": "invalid-gateway-server",
        "spec.servers[].port.name": "invalid-gateway-server",
        "spec.servers[].port.protocol": "invalid-gateway-server",
    },
    "AuthorizationPolicy": {
        "spec.targetRef.kind": "invalid-authorization-policy",
        "spec.targetRef.name": "invalid-authorization-policy",
        "spec.targetRefs[].kind": "invalid-authorization-policy",
        "spec.targetRefs[].name": "invalid-authorization-policy",
        "spec.rules[].when[].key": "invalid-authorization-rule",
    },
    "RequestAuthentication": {
        "spec.targetRef.kind": "invalid-request-authentication",
        "spec.targetRef.name": "invalid-request-authentication",
        "spec.targetRefs[].kind": "invalid-request-authentication",
        "spec.targetRefs[].name": "invalid-request-authentication",
        "spec.jwtRules[].fromHeaders[].name": "invalid-jwt-rule",
        "spec.jwtRules[].outputClaimToHeaders[].claim": "invalid-jwt-rule",
        "spec.jwtRules[].outputClaimToHeaders[].header": "invalid-jwt-rule",
    },
    "ServiceEntry": {
        "spec.ports[].name": "invalid-serviceentry-port",
    },
    "Sidecar": {
        "spec.ingress[].port": "invalid-sidecar-ingress",
        "spec.egress[].hosts": "invalid-sidecar-egress",
        "spec.outboundTrafficPolicy.egressProxy.host": "invalid-outbound-traffic-policy",
    },
}


_OWNERS = {
    kind: [(re.compile(re.escape(path).replace(r"\*", ".*")), path) for path in paths]
    for kind, paths in OWNED_BY_KIND_RULES.items()
}


def owned_entry(kind: str, field: str) -> str | None:
    """The table entry of `kind` that a missing `field` (`spec.servers[].port.name`) matches."""
    return next((path for pattern, path in _OWNERS.get(kind, ()) if pattern.fullmatch(field)), None)


def owner_of(kind: str, field: str) -> str | None:
    """The code of the kind rule that reports a missing `field` of `kind`, if one does."""
    entry = owned_entry(kind, field)
    return None if entry is None else OWNED_BY_KIND_RULES[kind][entry]


def _enabled(settings: Settings, code: str) -> bool:
    return code not in settings.disabled_rules and settings.severity.get(code) != "off"


def check(ctx: DocumentContext) -> Iterator[Finding]:
    kind = ctx.resource.kind

    def owned(violation: validate.Violation) -> bool:
        owner = owner_of(kind, violation.field) if violation.field else None
        return owner is not None and _enabled(ctx.settings, owner)

    yield from validate.findings(ctx, RULE, skip=owned)


def _owned_listing() -> str:
    return "\n".join(
        f"- {kind} `{path}`: `{owner}`" for kind, paths in OWNED_BY_KIND_RULES.items() for path, owner in paths.items()
    )


RULE = Rule(
    code="missing-required-field",
    severity=Severity.ERROR,
    summary="A field the kind's CRD schema requires is missing or null: rejected by the API server.",
    doc=DOC.replace("{owned}", _owned_listing()),
    local=check,
    # every kind of the schema bundles, Istio's and the Gateway API's: the schema is looked up by
    # (group, kind), so Istio's Gateway and the Gateway API's are each checked against their own
    kinds=(),
)
