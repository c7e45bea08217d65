"""What every check shares: findings, fixes, rule metadata, and the context a check reads."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding, Fix, Related, Severity, TextEdit
from istio_lsp.index import FileSummary, WorkspaceIndex
from istio_lsp.model.resources import Ref, Resource
from istio_lsp.settings import Settings
from istio_lsp.syntax import Span

SOURCE = "istio-lsp"
DOCS_DIR = Path(__file__).resolve().parent.parent / "docs" / "rules"


@dataclass(frozen=True)
class Rule:
    """One check: its stable code, default severity, docs and the function that finds it."""

    code: str
    severity: Severity
    summary: str  # one line: what it reports
    doc: str  # Markdown: why it matters, wrong and right examples, fixes
    # a cross-file check reads the whole index; a local one reads one resource's own document
    run: Callable[[Context, FileSummary], Iterable[Finding]] | None = None
    local: Callable[[DocumentContext], Iterable[Finding]] | None = None
    kinds: tuple[str, ...] = ()  # resource kinds a local check reads; empty: all
    istio_codes: tuple[str, ...] = ()
    kiali_codes: tuple[str, ...] = ()

    @property
    def doc_path(self) -> Path:
        return DOCS_DIR / f"{self.code}.md"

    @property
    def doc_uri(self) -> str:
        return self.doc_path.as_uri()


@dataclass
class Context:
    """What a check may read: the whole index, and the settings."""

    index: WorkspaceIndex

    @property
    def settings(self) -> Settings:
        return self.index.settings

    def finding(
        self,
        rule: Rule,
        resource: Resource,
        span: Span,
        message: str,
        *,
        severity: Severity | None = None,
        related: Iterable[Related] = (),
        fixes: Iterable[Fix] = (),
    ) -> Finding:
        return Finding(
            code=rule.code,
            severity=rule.severity if severity is None else severity,
            message=message,
            uri=resource.uri,
            span=span,
            resource=resource.display,
            related=list(related),
            fixes=list(fixes),
        )


def related_to(resource: Resource, message: str) -> Related:
    return Related(resource.uri, resource.name_span, message)


def close_matches(word: str, candidates: Iterable[str], limit: int = 3) -> list[str]:
    """Candidates close enough to be a likely typo of `word`, best first.

    Case is ignored (`V1` is a typo of `v1`), and trailing DNS labels both share
    (`.svc.cluster.local`, `.example.com`) are left out of the comparison: otherwise
    any two hosts of the cluster look alike (`inventory.warehouse.svc.cluster.local`
    would suggest `cart.shop.svc.cluster.local`).
    """
    scored = []
    for candidate in sorted({c for c in candidates if c and c != word}):
        mine, theirs = _differing_labels(word.lower(), candidate.lower())
        ratio = difflib.SequenceMatcher(None, mine, theirs).ratio()
        if ratio >= 0.6:
            scored.append((-ratio, candidate))
    return [candidate for _, candidate in sorted(scored)[:limit]]


def _differing_labels(a: str, b: str) -> tuple[str, str]:
    """`a` and `b` without the dot-separated labels they end with in common (at least one label is kept)."""
    left, right = a.split("."), b.split(".")
    while len(left) > 1 and len(right) > 1 and left[-1] == right[-1]:
        left.pop()
        right.pop()
    return ".".join(left), ".".join(right)


def replace_fixes(uri: str, ref: Ref, suggestions: Iterable[str]) -> Iterator[Fix]:
    """ "Did you mean" fixes that rewrite a scalar, keeping its quotes."""
    for number, suggestion in enumerate(suggestions):
        yield Fix(
            f"Did you mean `{suggestion}`?",
            (TextEdit(uri, ref.span, f"{ref.quote}{suggestion}{ref.quote}"),),
            preferred=number == 0,
        )
