"""invalid-header: header names and values in VirtualService matches and header operations."""

from __future__ import annotations

import re
from collections.abc import Iterator

from istio_lsp.checks.admission._generic import (
    REJECTED,
    http_matches,
    is_istio,
    rules_and_children,
    vs_applies_to_gateway_only,
)
from istio_lsp.checks.admission.common import header_name_problem, header_value_problem
from istio_lsp.checks.base import Rule, Severity
from istio_lsp.checks.fields import scalar_items, unseen
from istio_lsp.checks.local import DocumentContext, replace_scalar
from istio_lsp.findings import Finding
from istio_lsp.syntax import Node, ScalarNode
from istio_lsp.syntax.nodes import get, pairs, scalar

# an Envoy command operator, as the shared header value check reads them
_COMMAND = re.compile(r"%[A-Z0-9_]+(\([^%]*\))?(:[0-9]+)?%")

DOC = """\
A header name or value of a VirtualService is one Istio rejects.

Covers these rows of the webhook checklist:

- §0 header *names* in `match[].headers` and `match[].withoutHeaders`: not empty, HTTP
  token characters only (letters, digits and ``!#$%&'*+-.^_`|~``); the pseudo-headers
  `:method`, `:scheme`, `:authority`, `:path`, `:status` and the JWT claim forms
  `@request.auth.claims.<claim>` / `@request.auth.claims[<claim>]` are accepted;
- §1 a JWT claim match on a VirtualService that is not bound to gateways only (no
  `gateways`, or `mesh` among them): claim-based routing only works on gateways;
- §0 header *operations* (`headers.request`/`headers.response` of a rule or of a route
  destination): `set`/`add` of a request header may not start with `:` (except
  `:authority`); a request `remove` and every response operation may not name `host` or
  start with `:`;
- §0 header *values* of `set`/`add`: no control characters other than TAB, and every `%`
  is either escaped as `%%` or part of an Envoy command such as `%DOWNSTREAM_REMOTE_ADDRESS%`.

## Why it matters

The webhook rejects the resource, so `kubectl apply` fails. A lone `%` is the usual
surprise: Envoy reads `%` as the start of a command operator, so `50%` must be `50%%`.

## Wrong

```yaml
http:
- match:
  - headers:
      "x user":
        exact: admin
  headers:
    response:
      set:
        x-discount: "50%"
  route:
  - destination: {host: shop}
```

## Right

```yaml
  - headers:
      x-user:
        exact: admin
  headers:
    response:
      set:
        x-discount: "50%%"
```

## Fixes

- **Escape `%` as `%%`**: for a header value whose only problem is a lone `%`.

Related: `istioctl analyze` IST0106.
"""


def _finding(ctx: DocumentContext, where: Node, message: str) -> Finding:
    return ctx.finding(RULE.code, RULE.severity, where, f"{message}; {REJECTED}.")


def _match_headers(ctx: DocumentContext) -> Iterator[Finding]:
    gateway_only = vs_applies_to_gateway_only(ctx)
    for _, match in http_matches(ctx):
        for field in ("headers", "withoutHeaders"):
            for key, _ in pairs(get(match, field)):
                name = str(key.value)
                problem = header_name_problem(name)
                if problem:
                    yield _finding(ctx, key, f"match `{field}`: {problem}")
                elif name.startswith("@request.auth.claims") and not gateway_only:
                    yield _finding(
                        ctx,
                        key,
                        f"match `{field}`: JWT claim routing (`{name}`) only works on gateways, and this "
                        f"VirtualService also applies to sidecars (no `gateways`, or `mesh` among them)",
                    )


def _operations(ctx: DocumentContext) -> Iterator[tuple[str, Node | None]]:
    """Every `headers` block of a VirtualService: rule level and route destination level."""
    seen: set[int] = set()
    for _, rule in unseen(ctx.list_at("spec.http"), seen):
        yield "headers", get(rule, "headers")
    for _, _, destination in rules_and_children(ctx, ("http",), "route"):
        yield "route headers", get(destination, "headers")


def _operation_name_problem(name: str, request_set: bool) -> str | None:
    if not name:
        return "a header name is empty"
    if request_set:
        if name.startswith(":") and name.lower() != ":authority":
            return f"`{name}` cannot be set: names starting with `:` are pseudo-headers (only `:authority` may be set)"
        return None
    if name.lower() == "host":
        return "the `host` header cannot be removed, nor changed on a response"
    if name.startswith(":"):
        return f"`{name}` cannot be changed: names starting with `:` are pseudo-headers"
    return None


def _header_operations(ctx: DocumentContext) -> Iterator[Finding]:
    for where, block in _operations(ctx):
        for direction in ("request", "response"):
            operations = get(block, direction)
            for verb in ("set", "add"):
                for key, value in pairs(get(operations, verb)):
                    label = f"{where} `{direction}.{verb}`"
                    problem = _operation_name_problem(str(key.value), direction == "request")
                    if problem:
                        yield _finding(ctx, key, f"{label}: {problem}")
                    if isinstance(value, ScalarNode):
                        yield from _value(ctx, value, label)
            for _, node, name in scalar_items(get(operations, "remove")):
                problem = _operation_name_problem(name, False)
                if problem:
                    yield _finding(ctx, node, f"{where} `{direction}.remove`: {problem}")


def _value(ctx: DocumentContext, node: ScalarNode, label: str) -> Iterator[Finding]:
    text = scalar(node) or ""
    problem = header_value_problem(text)
    if problem is None:
        return
    fixes = []
    escaped = _escape_lone_percents(text)
    if escaped != text and header_value_problem(escaped) is None and node.style in ("", None, "'", '"'):
        fixes.append(replace_scalar(ctx, node, escaped, "Escape `%` as `%%`"))
    yield ctx.finding(RULE.code, RULE.severity, node, f"{label}: {problem}; {REJECTED}.", fixes=fixes)


def _escape_lone_percents(text: str) -> str:
    """`%` doubled where it neither is `%%` nor starts an Envoy command (`%REQ(x-id)%`)."""
    out: list[str] = []
    position = 0
    while position < len(text):
        if text.startswith("%%", position):
            out.append("%%")
            position += 2
            continue
        command = _COMMAND.match(text, position)
        if command:
            out.append(command.group(0))
            position = command.end()
            continue
        out.append("%%" if text[position] == "%" else text[position])
        position += 1
    return "".join(out)


def check(ctx: DocumentContext) -> Iterator[Finding]:
    if not is_istio(ctx):
        return
    yield from _match_headers(ctx)
    yield from _header_operations(ctx)


RULE = Rule(
    code="invalid-header",
    severity=Severity.ERROR,
    summary="A header name or value in a VirtualService match or header operation is invalid.",
    doc=DOC,
    local=check,
    kinds=("VirtualService",),
    istio_codes=("IST0106",),
)
