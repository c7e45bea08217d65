"""invalid-rewrite: HTTP rewrites Istio rejects."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.admission._vs_routes import REJECTED, spec_routes
from istio_lsp.checks.base import Rule
from istio_lsp.checks.fields import has_text, mapping_at, value_at
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding, Severity
from istio_lsp.syntax.nodes import key_node

DOC = """\
An HTTP `rewrite` that Istio's webhook rejects.

Covers these rows of the webhook checklist (HTTP route, rewrite):

- `uri` and `uriRegexRewrite` are both set (they are alternatives);
- the rewrite changes nothing: none of `uri`, `uriRegexRewrite` or `authority` is set
  (an empty string counts as not set);
- `uriRegexRewrite` without both a `match` and a `rewrite`.

The `uriRegexRewrite.match` regex itself is checked by `invalid-regex`.

## Why it matters

The webhook rejects the whole VirtualService, so none of its changes reach the
proxies.

## Wrong

```yaml
rewrite:
  uri: /v2
  uriRegexRewrite:
    match: ^/v1/(.*)
```

## Right

```yaml
rewrite:
  uriRegexRewrite:
    match: ^/v1/(.*)
    rewrite: /v2/\\1
```

Related: `istioctl analyze` IST0106 (schema validation error).
"""


def check(ctx: DocumentContext) -> Iterator[Finding]:
    for _, rule in spec_routes(ctx, "http"):
        rewrite = mapping_at(rule, "rewrite")
        if rewrite is None:
            continue
        regex_rewrite = value_at(rewrite, "uriRegexRewrite")
        regex_key = key_node(rewrite, "uriRegexRewrite")
        if has_text(rewrite, "uri") and regex_rewrite is not None:
            yield ctx.finding(
                RULE.code,
                RULE.severity,
                regex_key or regex_rewrite,
                f"`uri` and `uriRegexRewrite` both rewrite the path; set only one of them. {REJECTED}.",
            )
        if not has_text(rewrite, "uri") and regex_rewrite is None and not has_text(rewrite, "authority"):
            yield ctx.finding(
                RULE.code,
                RULE.severity,
                key_node(rule, "rewrite") or rewrite,
                f"This rewrite changes nothing: set `uri`, `uriRegexRewrite` or `authority`. {REJECTED}.",
            )
        if regex_rewrite is not None:
            missing = [k for k in ("match", "rewrite") if not has_text(regex_rewrite, k)]
            if missing:
                fields = " and ".join(f"`{k}`" for k in missing)
                yield ctx.finding(
                    RULE.code,
                    RULE.severity,
                    regex_key or regex_rewrite,
                    f"`uriRegexRewrite` needs both a `match` regex and a `rewrite`; {fields} "
                    f"{'is' if len(missing) == 1 else 'are'} missing or empty. {REJECTED}.",
                )


RULE = Rule(
    code="invalid-rewrite",
    severity=Severity.ERROR,
    summary="An HTTP rewrite Istio rejects: uri with uriRegexRewrite, nothing to rewrite, or an incomplete "
    "uriRegexRewrite.",
    doc=DOC,
    local=check,
    kinds=("VirtualService",),
    istio_codes=("IST0106",),
)
