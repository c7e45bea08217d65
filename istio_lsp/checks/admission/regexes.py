"""invalid-regex: a regular expression that RE2, the engine Istio and Envoy use, does not accept."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.admission._generic import REJECTED, http_matches, is_istio
from istio_lsp.checks.admission.common import regex_problem
from istio_lsp.checks.base import Rule, Severity
from istio_lsp.checks.fields import unseen
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding
from istio_lsp.syntax import Node, ScalarNode
from istio_lsp.syntax.nodes import get, items, pairs, path, scalar

DOC = """\
A regular expression of a VirtualService does not compile with RE2.

Covers the webhook checklist's "Regex" row (§0) and the regex parts of §1, in every RE2
field of a VirtualService:

- `StringMatch.regex` in `http[].match[]`: `uri`, `scheme`, `method`, `authority`, and each
  entry of `headers`, `withoutHeaders` and `queryParams` (the `withoutHeaders` regex `*`
  is exempt, as in Istio);
- `http[].rewrite.uriRegexRewrite.match`;
- `http[].corsPolicy.allowOrigins[].regex`.

A regex must not be empty, must be at most 1024 characters, and must compile as RE2. RE2
has no look-ahead, look-behind or backreferences (`(?=…)`, `(?<!…)`, `\\1`); other
mistakes are the usual ones (unbalanced parentheses or brackets, a `*` with nothing
before it). The message quotes RE2's own reason.

## Why it matters

The webhook rejects the resource, so `kubectl apply` fails ("Istio uses RE2 style
regex-based match"). Patterns tested with Python, PCRE or JavaScript often use syntax RE2
lacks.

## Wrong

```yaml
match:
- uri:
    regex: "/api/(v1|v2"
```

## Right

```yaml
- uri:
    regex: "/api/(v1|v2)/.*"
```

Related: `istioctl analyze` IST0106.
"""

_STRING_MATCHES = ("uri", "scheme", "method", "authority")
_MAPS = ("headers", "withoutHeaders", "queryParams")


def _regexes(ctx: DocumentContext) -> Iterator[tuple[str, Node, bool]]:
    """(where, regex node, whether `*` is allowed) for every RE2 field of a VirtualService."""
    for _, match in http_matches(ctx):
        for field in _STRING_MATCHES:
            node = path(match, field, "regex")
            if node is not None:
                yield f"match `{field}`", node, False
        for field in _MAPS:
            for key, value in pairs(get(match, field)):
                node = get(value, "regex")
                if node is not None:
                    yield f"match `{field}.{key.value}`", node, field == "withoutHeaders"
    seen_rules: set[int] = set()
    seen_origins: set[int] = set()
    for _, rule in unseen(ctx.list_at("spec.http"), seen_rules):
        node = path(rule, "rewrite", "uriRegexRewrite", "match")
        if node is not None and scalar(node):  # an empty one is the rewrite rules' "needs match and rewrite"
            yield "`rewrite.uriRegexRewrite.match`", node, False
        for _, origin in unseen(items(path(rule, "corsPolicy", "allowOrigins")), seen_origins):
            node = get(origin, "regex")
            if node is not None:
                yield "CORS `allowOrigins`", node, False


def _hint(problem: str) -> str:
    if "invalid perl operator" in problem or ("invalid escape sequence: \\" in problem and problem[-1].isdigit()):
        return " (RE2 has no look-around or backreferences)"
    return ""


def check(ctx: DocumentContext) -> Iterator[Finding]:
    if not is_istio(ctx):
        return
    for where, node, star_ok in _regexes(ctx):
        if not isinstance(node, ScalarNode):
            continue
        text = scalar(node)
        if text is None:
            continue  # `regex:` with no value is left unset
        if star_ok and text == "*":
            continue
        problem = regex_problem(text)
        if problem:
            yield ctx.finding(RULE.code, RULE.severity, node, f"{where}: {problem}{_hint(problem)}; {REJECTED}.")


RULE = Rule(
    code="invalid-regex",
    severity=Severity.ERROR,
    summary="A regex in a VirtualService match, URI regex rewrite or CORS origin does not compile with RE2.",
    doc=DOC,
    local=check,
    kinds=("VirtualService",),
    istio_codes=("IST0106",),
)
