"""invalid-match: HTTP match conditions the webhook rejects (besides regexes, header names and ports)."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.admission._vs_routes import REJECTED, lowercase_fix, rename_key_fix, spec_routes
from istio_lsp.checks.admission.common import dns1123_label_problem
from istio_lsp.checks.base import Rule
from istio_lsp.checks.fields import absent, distinct
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding, Fix, Severity
from istio_lsp.syntax import MappingNode, Node, ScalarNode
from istio_lsp.syntax.nodes import get, items, key_node, pairs, scalar

DOC = """\
An HTTP `match` condition that Istio's webhook rejects.

Covers these rows of the webhook checklist (HTTP route, match):

- a header match with no value (`headers: {x-user: }`): a header condition must be a
  string match (`exact`, `prefix` or `regex`), or `{}`;
- an empty `prefix: ""` in `headers`, `withoutHeaders`, `queryParams`, `scheme`,
  `method` or `authority` (the `uri` field alone accepts an empty prefix);
- `sourceNamespace` that is not a namespace name (a DNS-1123 label).

Regexes, header names, ports, source labels and gateway names in a match are checked
by `invalid-regex`, `invalid-header`, `invalid-port`, `invalid-labels` and
`invalid-gateway-reference`.

## Why it matters

Envoy requires a non-empty prefix in these string matchers; Istio therefore rejects
the VirtualService when it is applied instead of letting every proxy refuse the
route. A `sourceNamespace` that cannot be a namespace name never matches any client.

## Wrong

```yaml
http:
- match:
  - headers:
      x-canary:
        prefix: ""
    sourceNamespace: Frontend
```

## Right

```yaml
http:
- match:
  - headers:
      x-canary:
        regex: ".+"
    sourceNamespace: frontend
```

## Fixes

- **Change to `<lowercase>`** for a `sourceNamespace` written with capitals.
- **Match any value with `regex: ".*"`** for an empty prefix (the usual intent).

Related: `istioctl analyze` IST0106 (schema validation error).
"""

_STRING_MATCH_MAPS = ("headers", "withoutHeaders", "queryParams")
_STRING_MATCH_FIELDS = ("scheme", "method", "authority")


def check(ctx: DocumentContext) -> Iterator[Finding]:
    for _, rule in spec_routes(ctx, "http"):
        for match in distinct(items(get(rule, "match"))):
            if isinstance(match, MappingNode):
                yield from _check_match(ctx, match)


def _check_match(ctx: DocumentContext, match: MappingNode) -> Iterator[Finding]:
    for name, condition in pairs(get(match, "headers")):
        if absent(condition):
            yield ctx.finding(
                RULE.code,
                RULE.severity,
                name,
                f"Header match `{name.value}` has no value: give a string match such as `exact: …`, "
                f"`prefix: …` or `regex: …`. {REJECTED} (header match cannot be null).",
            )
    for field in _STRING_MATCH_MAPS:
        for name, condition in pairs(get(match, field)):
            yield from _empty_prefix(ctx, condition, f"`{field}.{name.value}`")
    for field in _STRING_MATCH_FIELDS:
        yield from _empty_prefix(ctx, get(match, field), f"`{field}`")
    namespace_node = get(match, "sourceNamespace")
    namespace = scalar(namespace_node)
    if namespace_node is not None and namespace:
        problem = dns1123_label_problem(namespace, "sourceNamespace")
        if problem is not None:
            yield ctx.finding(
                RULE.code,
                RULE.severity,
                namespace_node,
                f"{problem}: it can never name a namespace. {REJECTED}.",
                fixes=lowercase_fix(ctx, namespace_node, namespace, dns1123_label_problem),
            )


def _empty_prefix(ctx: DocumentContext, condition: Node | None, where: str) -> Iterator[Finding]:
    prefix = get(condition, "prefix")
    if not isinstance(prefix, ScalarNode) or scalar(prefix) != "":
        return
    key = key_node(condition, "prefix")
    fixes: list[Fix] = []
    if key is not None:
        fixes.append(rename_key_fix(ctx, key, "regex", prefix, '".*"', 'Match any value with `regex: ".*"`'))
    yield ctx.finding(
        RULE.code,
        RULE.severity,
        prefix,
        f"{where} has an empty `prefix`, which Envoy does not accept here (only `uri` may use an empty prefix). "
        f"{REJECTED}.",
        fixes=fixes,
    )


RULE = Rule(
    code="invalid-match",
    severity=Severity.ERROR,
    summary="An HTTP match condition is rejected by Istio: a null header match, an empty prefix, a bad "
    "sourceNamespace.",
    doc=DOC,
    local=check,
    kinds=("VirtualService",),
    istio_codes=("IST0106",),
)
