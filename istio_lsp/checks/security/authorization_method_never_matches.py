"""authorization-method-never-matches: an AuthorizationPolicy method no HTTP request carries."""

from __future__ import annotations

import re
from collections.abc import Iterator

from istio_lsp.checks.base import Rule
from istio_lsp.checks.fields import items_at, mapping_at, scalar_items, text
from istio_lsp.checks.local import DocumentContext
from istio_lsp.checks.security._authorization import never_matching
from istio_lsp.findings import Finding, Fix, Severity, TextEdit
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.syntax.nodes import PathSegment, get

DOC = """\
An AuthorizationPolicy's `to.operation.methods` (or `notMethods`) lists a value no HTTP
request carries as its method: a known method in lower case (`get`), or a gRPC method
name (`GetUser`, `/shop.Cart/Add`).

## Why it matters

A request's method is compared exactly, and methods are upper case on the wire. gRPC
calls are all `POST`: the gRPC method is in the path. So the entry never matches: an
ALLOW rule that needs it allows nothing (and, with no other ALLOW rule matching, the
workload denies those requests), a DENY rule denies nothing, and nothing fails at apply
time.

Methods Istio accepts as written are not reported: upper-case tokens (including
extension methods such as `PURGE` or WebDAV's `PROPFIND`), `*`, and prefix or suffix
wildcards (`GE*`, `*T`).

## Wrong

```yaml
rules:
- to:
  - operation:
      methods: ["get", "GetCart"]
```

## Right

```yaml
rules:
- to:
  - operation:
      methods: ["GET"]
  - operation:
      paths: ["/shop.Cart/GetCart"]   # gRPC: match the method by path
```

## Fixes

Write the method in upper case.

Related: Kiali KIA0102.
"""

KNOWN = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})
TOKEN = re.compile(r"^[A-Z0-9!#$%&'+.^_`|~-]+$")  # an HTTP method token as sent (upper case)


def check(ctx: DocumentContext) -> Iterator[Finding]:
    if ctx.resource.api_version.partition("/")[0] != "security.istio.io":
        return
    action = (text(ctx.spec, "action") or "ALLOW").upper()
    for r, rule in enumerate(items_at(ctx.spec, "rules")):
        for t, target in enumerate(items_at(rule, "to")):
            operation = mapping_at(target, "operation")
            for field in ("methods", "notMethods"):
                for i, node, value in scalar_items(get(operation, field)):
                    problem = _problem(value)
                    if problem is None:
                        continue
                    path: list[PathSegment] = ["spec", "rules", r, "to", t, "operation", field, i]
                    if field == "methods":
                        outcome = f"so this rule {never_matching(action)}"
                    else:
                        outcome = "so excluding it excludes nothing"
                    fixes = []
                    if value.upper() in KNOWN:
                        edit = TextEdit(ctx.uri, ctx.node_span(node), value.upper())
                        fixes.append(Fix(f"Use `{value.upper()}`", (edit,), preferred=True))
                    yield ctx.finding(
                        RULE.code,
                        RULE.severity,
                        path,
                        f"No request has the method `{value}`: {problem}, {outcome}.",
                        fixes=fixes,
                    )


def _problem(value: str) -> str | None:
    if is_placeholder(value) or value == "*" or value.startswith("*") or value.endswith("*"):
        return None
    if TOKEN.match(value):
        return None
    if value.upper() in KNOWN:
        return f"methods are compared exactly and sent in upper case (`{value.upper()}`)"
    if "/" in value or any(c.isupper() for c in value[1:]):
        return "gRPC calls are all `POST` (match a gRPC method by `paths`, `/package.Service/Method`)"
    return "methods are compared exactly and sent in upper case"


RULE = Rule(
    code="authorization-method-never-matches",
    severity=Severity.WARNING,
    summary="An AuthorizationPolicy method no HTTP request carries (lower case, or a gRPC method name)",
    doc=DOC,
    local=check,
    kinds=("AuthorizationPolicy",),
    kiali_codes=("KIA0102",),
)
