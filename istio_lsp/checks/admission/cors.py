"""invalid-cors: CORS policies Istio rejects."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.admission._vs_routes import REJECTED, spec_routes
from istio_lsp.checks.admission.common import header_name_problem
from istio_lsp.checks.base import Rule
from istio_lsp.checks.fields import distinct, items_at, mapping_at
from istio_lsp.checks.local import DocumentContext, replace_scalar
from istio_lsp.findings import Finding, Severity
from istio_lsp.syntax import MappingNode
from istio_lsp.syntax.nodes import get, scalar

DOC = """\
A `corsPolicy` that Istio's webhook rejects.

Covers these rows of the webhook checklist (HTTP route, CORS):

- an `allowOrigins` entry without a non-empty `exact`, `prefix` or `regex`;
- an `allowMethods` entry that is not one of `GET`, `HEAD`, `POST`, `PUT`, `PATCH`,
  `DELETE`, `CONNECT`, `OPTIONS`, `TRACE` or `*` (method names are case-sensitive);
- an `allowHeaders`/`exposeHeaders` entry that is empty or not a valid header name
  (`*` is allowed).

The `allowOrigins` regexes and `maxAge` (a duration in whole seconds) are checked by
`invalid-regex` and `invalid-duration`.

## Why it matters

The webhook rejects the whole VirtualService. Browsers compare methods exactly, so
`get` would never be allowed even if Istio let it through.

## Wrong

```yaml
corsPolicy:
  allowOrigins:
  - exact: ""
  allowMethods: [get, post]
  allowHeaders: ["x-user id"]
```

## Right

```yaml
corsPolicy:
  allowOrigins:
  - exact: https://shop.example.com
  allowMethods: [GET, POST]
  allowHeaders: [x-user-id]
```

## Fixes

- **Change to `GET`** for a method written in lowercase.

Related: `istioctl analyze` IST0106 (schema validation error).
"""

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE", "*"})


def check(ctx: DocumentContext) -> Iterator[Finding]:
    for _, rule in spec_routes(ctx, "http"):
        policy = mapping_at(rule, "corsPolicy")
        if policy is not None:
            yield from _check_policy(ctx, policy)


def _check_policy(ctx: DocumentContext, policy: MappingNode) -> Iterator[Finding]:
    for origin in distinct(items_at(policy, "allowOrigins")):
        if not isinstance(origin, MappingNode):
            continue
        if any(scalar(get(origin, k)) for k in ("exact", "prefix", "regex")):
            continue
        if scalar(get(origin, "regex")) == "":
            continue  # an empty regex is reported by invalid-regex
        yield ctx.finding(
            RULE.code,
            RULE.severity,
            origin,
            f"This `allowOrigins` entry matches no origin: give a non-empty `exact`, `prefix` or `regex`. {REJECTED}.",
        )
    for method_node in distinct(items_at(policy, "allowMethods")):
        method = scalar(method_node)
        if method is None or method in METHODS:
            continue
        upper = method.strip().upper()
        fixes = [replace_scalar(ctx, method_node, upper, f"Change to `{upper}`")] if upper in METHODS else []
        yield ctx.finding(
            RULE.code,
            RULE.severity,
            method_node,
            f"`{method}` is not an HTTP method CORS can allow (GET, HEAD, POST, PUT, PATCH, DELETE, CONNECT, "
            f"OPTIONS, TRACE or *; uppercase). {REJECTED}.",
            fixes=fixes,
        )
    for field in ("allowHeaders", "exposeHeaders"):
        for header_node in distinct(items_at(policy, field)):
            header = scalar(header_node)
            if header is None or header == "*":
                continue
            problem = header_name_problem(header, allow_pseudo=False, allow_jwt_claims=False)
            if problem is not None:
                yield ctx.finding(RULE.code, RULE.severity, header_node, f"`{field}`: {problem}. {REJECTED}.")


RULE = Rule(
    code="invalid-cors",
    severity=Severity.ERROR,
    summary="A CORS policy Istio rejects: an empty allowOrigins entry, an unknown method, an invalid header name.",
    doc=DOC,
    local=check,
    kinds=("VirtualService",),
    istio_codes=("IST0106",),
)
