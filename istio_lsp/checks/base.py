"""What every check shares: findings, fixes, rule metadata, and the context a check reads."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path

from istio_lsp.index import FileSummary, WorkspaceIndex
from istio_lsp.model.resources import Ref, Resource
from istio_lsp.settings import Settings
from istio_lsp.syntax import Span

SOURCE = "istio-lsp"
DOCS_DIR = Path(__file__).resolve().parent.parent / "docs" / "rules"


class Severity(IntEnum):
    """Values match LSP's DiagnosticSeverity."""

    ERROR = 1
    WARNING = 2
    INFORMATION = 3
    HINT = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, name: str) -> Severity:
        return cls[name.upper()]


@dataclass(frozen=True, slots=True)
class TextEdit:
    uri: str
    span: Span
    new_text: str


@dataclass(frozen=True, slots=True)
class Fix:
    title: str
    edits: tuple[TextEdit, ...]
    preferred: bool = False
    # safe: applying it cannot change behaviour the user relies on; unsafe fixes are offered, never auto-applied
    safe: bool = True


@dataclass(frozen=True, slots=True)
class Related:
    uri: str
    span: Span
    message: str


@dataclass(slots=True)
class Finding:
    code: str
    severity: Severity
    message: str
    uri: str
    span: Span
    resource: str | None = None  # "Kind namespace/name"
    related: list[Related] = field(default_factory=list)
    fixes: list[Fix] = field(default_factory=list)


@dataclass(frozen=True)
class Rule:
    """One check: its stable code, default severity, docs and the function that finds it."""

    code: str
    severity: Severity
    summary: str  # one line: what it reports
    doc: str  # Markdown: why it matters, wrong and right examples, fixes
    run: Callable[[Context, FileSummary], Iterable[Finding]]
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
