"""Suppressions, applied in one place after every check ran: comments in the file and istioctl's
`galley.istio.io/analyze-suppress` annotation. No rule knows about them.

unused-suppression: a suppression comment that silences nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from istio_lsp.checks.base import Fix, Rule, Severity, TextEdit
from istio_lsp.findings import Finding
from istio_lsp.index import FileSummary
from istio_lsp.syntax.comments import FILE, Suppression

DOC = """\
A suppression comment that silences no finding: the finding it was written for is gone (fixed,
or the rule's severity is now `off`), or it names a code no finding on its line has.

## Suppressing a finding

Write a comment on the line above the finding, at the end of its line, or anywhere in the file
for the whole file:

```yaml
spec:
  http:
  - route:
    # istio-lsp: disable-next-line destination-host-not-found
    - destination: {host: legacy.example.internal}
    - destination: {host: billing}  # istio-lsp: disable destination-host-not-found
# istio-lsp: disable-file weights-not-100, single-weighted-destination
```

Codes are separated by commas or blanks; a directive without codes silences every finding it
applies to. The `istioctl analyze` code of a rule (`IST0101`) works too, for every rule that
corresponds to it. Every diagnostic offers the comment as a quick fix.

istioctl's annotation `galley.istio.io/analyze-suppress` on a resource (`IST0101,IST0104`, or
`*` for everything) silences the findings on that resource the same way, so a repository that
already uses it with `istioctl analyze` needs nothing new.

## Why it matters

A suppression that silences nothing hides nothing today, but it will hide the next real finding
of that code on its line. This hint shows it; the quick fix removes it.
"""

RULE = Rule(
    code="unused-suppression",
    severity=Severity.HINT,
    summary="A suppression comment that silences no finding.",
    doc=DOC,
)


def apply(findings: list[Finding], summary: FileSummary, aliases: dict[str, set[str]]) -> list[Finding]:
    """The findings the file's suppressions leave, and a hint for each comment that silenced nothing.

    `aliases`: istioctl's codes (IST0101) → the rule codes that correspond to them.
    """
    comments = summary.suppressions
    annotated = [(r.span, _codes(r.analyze_suppress)) for r in summary.resources if r.analyze_suppress]
    if not comments and not annotated:
        return findings
    used: set[Suppression] = set()
    kept: list[Finding] = []
    for finding in findings:
        silenced = False
        for comment in comments:
            applies = comment.scope == FILE or comment.line == finding.span.start_line
            if applies and _names(comment.codes, finding.code, aliases):
                used.add(comment)
                silenced = True
        if not silenced:
            silenced = any(
                finding.span.inside(span) and _names(codes, finding.code, aliases) for span, codes in annotated
            )
        if not silenced:
            kept.append(finding)
    kept.extend(_unused(comment, summary.uri) for comment in comments if comment not in used)
    return kept


def _names(codes: Iterable[str], code: str, aliases: dict[str, set[str]]) -> bool:
    """Whether a suppression's codes (none: all) name a finding's rule, directly or by its istioctl code."""
    codes = tuple(codes)
    return not codes or "*" in codes or any(c == code or code in aliases.get(c.upper(), ()) for c in codes)


def _codes(annotation: str) -> tuple[str, ...]:
    """The codes of an analyze-suppress annotation (`IST0108,IST0103`; `*`: all)."""
    return tuple(part.strip() for part in annotation.split(",") if part.strip())


def _unused(comment: Suppression, uri: str) -> Finding:
    what = ", ".join(f"`{c}`" for c in comment.codes) if comment.codes else "any finding"
    where = "in this file" if comment.scope == FILE else "on its line"
    return Finding(
        RULE.code,
        RULE.severity,
        f"This suppression silences nothing: no finding of {what} {where}.",
        uri,
        comment.span,
        fixes=[Fix("Remove the unused suppression", (TextEdit(uri, comment.removal, ""),), preferred=True)],
    )
