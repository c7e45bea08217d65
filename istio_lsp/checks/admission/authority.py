"""authority-set-twice: a route rewrites the authority (Host) in more than one place."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.admission._vs_routes import REJECTED, spec_routes
from istio_lsp.checks.base import Rule
from istio_lsp.checks.fields import mapping_at
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding, Severity
from istio_lsp.syntax import MappingNode, Node
from istio_lsp.syntax.nodes import get, key_node, pairs, scalar

DOC = """\
One HTTP route rule sets the request's authority (the `Host` header) more than once:
through `rewrite.authority` and `headers.request.set`/`add` of `:authority` or
`host`, or through two such header operations.

Covers the checklist row "`rewrite.authority` plus `headers.request.set/add` of
`:authority`/`host`, or two such sets" (HTTP route).

## Why it matters

Envoy can rewrite the host of a request in only one way per route; Istio refuses to
guess which of the values you meant ("authority header cannot be set multiple
times") and the webhook rejects the VirtualService.

## Wrong

```yaml
http:
- rewrite:
    authority: api.internal
  headers:
    request:
      set:
        host: api.example.com
  route:
  - destination: {host: api}
```

## Right

```yaml
http:
- rewrite:
    authority: api.internal
  route:
  - destination: {host: api}
```

## Fixes

Keep one of the settings (usually `rewrite.authority`) and delete the others.

Related: `istioctl analyze` IST0106 (schema validation error).
"""

_AUTHORITY_HEADERS = (":authority", "host")


def check(ctx: DocumentContext) -> Iterator[Finding]:
    for _, rule in spec_routes(ctx, "http"):
        sources: list[tuple[str, Node, str]] = []  # (where, node, value)
        rewrite = mapping_at(rule, "rewrite")
        authority = scalar(get(rewrite, "authority"))
        if rewrite is not None and authority:
            sources.append(("`rewrite.authority`", key_node(rewrite, "authority") or rewrite, authority))
        request = mapping_at(mapping_at(rule, "headers"), "request")
        for operation in ("set", "add"):
            operations = get(request, operation)
            if not isinstance(operations, MappingNode):
                continue
            for name, header_value in pairs(operations):
                if str(name.value).lower() in _AUTHORITY_HEADERS:
                    text = scalar(header_value) or ""
                    sources.append((f"`headers.request.{operation}.{name.value}`", name, text))
        # Istio walks the settings and fails when one arrives while an earlier one holds a value
        for index in range(1, len(sources)):
            if any(value for _, _, value in sources[:index]):
                earlier = ", ".join(where for where, _, _ in sources[:index])
                where, node, _ = sources[index]
                yield ctx.finding(
                    RULE.code,
                    RULE.severity,
                    node,
                    f"The authority (Host) is set again by {where} after {earlier}; set it in one place only. "
                    f"{REJECTED} (authority header cannot be set multiple times).",
                )
                break


RULE = Rule(
    code="authority-set-twice",
    severity=Severity.ERROR,
    summary="An HTTP route sets the authority (Host) more than once: rewrite.authority and/or :authority/host "
    "header operations.",
    doc=DOC,
    local=check,
    kinds=("VirtualService",),
    istio_codes=("IST0106",),
)
