"""invalid-redirect: HTTP redirects Istio rejects."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.admission._vs_routes import REJECTED, spec_routes
from istio_lsp.checks.admission.common import as_int
from istio_lsp.checks.base import Rule
from istio_lsp.checks.fields import distinct, has_text, mapping_at, value_at
from istio_lsp.checks.local import DocumentContext, replace_scalar
from istio_lsp.findings import Finding, Severity
from istio_lsp.syntax import MappingNode
from istio_lsp.syntax.nodes import get, items, key_node, scalar

DOC = """\
An HTTP `redirect` that Istio's webhook rejects.

Covers these rows of the webhook checklist (HTTP route, redirect):

- the redirect changes nothing: none of `uri`, `prefixRewrite`, `authority`,
  `port`/`derivePort` or `scheme` is set;
- `uri` and `prefixRewrite` are both set (they are alternatives);
- `prefixRewrite` on a rule whose `uri` matches are not all `prefix` matches (there
  is no matched prefix to replace);
- `redirectCode` outside 300 to 399;
- `scheme` other than `http` or `https`.

The redirect `port` value is checked by `invalid-port`.

## Why it matters

The webhook rejects the VirtualService and `kubectl apply` fails. A redirect that
changes nothing would send clients back to the same URL in a loop.

## Wrong

```yaml
- match:
  - uri: {exact: /old}
  redirect:
    prefixRewrite: /new
    redirectCode: 200
    scheme: HTTPS
```

## Right

```yaml
- match:
  - uri: {prefix: /old}
  redirect:
    prefixRewrite: /new
    redirectCode: 301
    scheme: https
```

## Fixes

- **Change to `https`** for a scheme written in capitals or as `https://`.

Related: `istioctl analyze` IST0106 (schema validation error).
"""

_TARGETS = ("uri", "prefixRewrite", "authority", "scheme")


def check(ctx: DocumentContext) -> Iterator[Finding]:
    for _, rule in spec_routes(ctx, "http"):
        redirect = mapping_at(rule, "redirect")
        if redirect is not None:
            yield from _check_redirect(ctx, rule, redirect)


def _check_redirect(ctx: DocumentContext, rule: MappingNode, redirect: MappingNode) -> Iterator[Finding]:
    has_port = value_at(redirect, "port") is not None or value_at(redirect, "derivePort") is not None
    if not has_port and not any(has_text(redirect, k) for k in _TARGETS):
        yield ctx.finding(
            RULE.code,
            RULE.severity,
            key_node(rule, "redirect") or redirect,
            "This redirect changes nothing: set at least one of `uri`, `prefixRewrite`, `authority`, `port` or "
            f"`scheme`. {REJECTED}.",
        )
    if has_text(redirect, "prefixRewrite"):
        prefix_key = key_node(redirect, "prefixRewrite") or redirect
        if has_text(redirect, "uri"):
            yield ctx.finding(
                RULE.code,
                RULE.severity,
                prefix_key,
                "`uri` replaces the whole path and `prefixRewrite` only the matched prefix; set one of them. "
                f"{REJECTED}.",
            )
        for match in distinct(items(get(rule, "match"))):
            uri = mapping_at(match, "uri")
            if uri is not None and value_at(uri, "prefix") is None:
                yield ctx.finding(
                    RULE.code,
                    RULE.severity,
                    key_node(match, "uri") or uri,
                    "`prefixRewrite` replaces the matched URI prefix, but this match is not a `prefix` match. "
                    f"{REJECTED}.",
                )
    code_node = get(redirect, "redirectCode")
    code = as_int(scalar(code_node))
    if code_node is not None and code is not None and code != 0 and not 300 <= code <= 399:
        yield ctx.finding(
            RULE.code,
            RULE.severity,
            code_node,
            f"`redirectCode: {code}` is not a redirect status (300 to 399, e.g. 301 or 308). {REJECTED}.",
        )
    scheme_node = get(redirect, "scheme")
    scheme = scalar(scheme_node)
    if scheme_node is not None and scheme and scheme not in ("http", "https"):
        normal = scheme.strip().lower().rstrip(":/")
        fixes = (
            [replace_scalar(ctx, scheme_node, normal, f"Change to `{normal}`")] if normal in ("http", "https") else []
        )
        yield ctx.finding(
            RULE.code,
            RULE.severity,
            scheme_node,
            f"Redirect `scheme: {scheme}` must be `http` or `https`. {REJECTED}.",
            fixes=fixes,
        )


RULE = Rule(
    code="invalid-redirect",
    severity=Severity.ERROR,
    summary="An HTTP redirect Istio rejects: nothing to change, uri with prefixRewrite, prefixRewrite without a "
    "prefix match, a non-3xx code, a scheme other than http/https.",
    doc=DOC,
    local=check,
    kinds=("VirtualService",),
    istio_codes=("IST0106",),
)
